"""Outcomes back from Moodle and the archive, and the final report.

``collect`` reads (thin I/O) into a :class:`~.dataset.Dataset` kept in the state
store; ``analysis`` turns a dataset and the spec into figures (pure);
``render`` writes report.html, the CSV files and the short event reports.
Collect once, render many times: ``report build`` needs no network.
"""
