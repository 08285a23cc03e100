"""oca-sync: push a declarative training programme into Moodle, Zoom and Google Drive."""

__version__ = "0.1.0"
