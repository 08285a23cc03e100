"""MoodleSandbox: an HTTP server that answers like Moodle 5.1's REST web services.

The wire behaviour follows public/webservice/rest/server.php,
public/webservice/rest/locallib.php (webservice_rest_server) and
public/webservice/lib.php (webservice_server / webservice_base_server):

1. GET and POST variables are parsed PHP-style (``a[0][b]=x`` nesting, ``a[]``
   appends, numeric keys become integers) and merged with ``array_merge($_GET,
   $_POST)``;
2. ``moodlewssetting{raw,fileurl,filter,lang,timezone}`` are taken out,
   ``moodlewsrestformat`` picks JSON or XML (XML is the default, as in Moodle);
3. the token is checked (``invalidtoken``), then the function is looked up
   (unknown: ``dml_missing_record_exception``), then its parameters validated
   (``invalid_parameter_exception`` with Moodle's messages), then it runs and
   its return value is cleaned against the return description;
4. errors are HTTP 200 with ``exception`` / ``errorcode`` / ``message``
   (``debuginfo`` only in debug mode).

State lives in memory (:mod:`.moodle_state`), guarded by one lock.
"""

from __future__ import annotations

import contextlib
import re
import secrets
import threading
from collections.abc import Iterator
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape as _xml_escape

from ..config import SiteOptions
from ..moodle.filenames import clean_file_name
from .httpserver import Request, Response, SandboxServer
from .moodle_fn_attendance import ATTENDANCE_REGISTRY, statuses_of, update_grades
from . import moodle_fn_completion  # also registers the plugin's completion functions
from .moodle_fn_ocasync import ATTENDANCE_VERSION, PLUGIN_REGISTRY, PLUGIN_VERSION
from .moodle_fn_report import ANONYMOUS_NO, REPORT_REGISTRY
from .moodle_registry import CORE_FUNCTIONS
from .moodle_functions import Ctx, PhpError, WsFunction, fullname, php_json, php_json_dumps
from .moodle_params import (
    PARAM_ALPHANUM,
    PARAM_BOOL,
    PARAM_LANG,
    PARAM_TIMEZONE,
    STRINGS,
    FilterConfig,
    InvalidParameterException,
    MoodleException,
    Multiple,
    OutputSettings,
    Single,
    SiteConfig,
    Value,
    WebserviceAccessException,
    clean_param,
    clean_returnvalue,
    get_string,
    missing_record,
    php_int,
    reset_site,
    use_site,
    validate_parameters,
)
from .moodle_state import (
    CONTEXT_MODULE,
    ENROL_INSTANCE_DISABLED,
    ENROL_INSTANCE_ENABLED,
    MoodleState,
    SiteSettings,
    new_site,
    now,
)

__all__ = ["UPLOAD_PATH", "WS_PATH", "MoodleSandbox", "parse_php_vars"]

WS_PATH = "/webservice/rest/server.php"
UPLOAD_PATH = "/webservice/upload.php"

# Strings of the errors /webservice/upload.php can answer (lang/en/*.php).
STRINGS.setdefault(("error", "missingparam"), "A required parameter ({$a}) was missing")
STRINGS.setdefault(("error", "storedfileproblem"), "Unknown exception related to local files ({$a})")
STRINGS.setdefault(("repository_upload", "upload_error_no_file"), "No file was uploaded.")
STRINGS.setdefault(("webservice", "filenameexist"), "File name already exists: {$a}")

#: PHP's default max_input_nesting_level.
MAX_NESTING = 64


# --------------------------------------------------------------------------- #
# PHP request-variable parsing (main/php_variables.c php_register_variable_ex)
# --------------------------------------------------------------------------- #

_INT_KEY = re.compile(r"-?(0|[1-9][0-9]*)")


def _php_key(key: str) -> str | int:
    """A numeric-string array key becomes an int key, as in PHP arrays."""
    if _INT_KEY.fullmatch(key) and -(2**63) <= int(key) < 2**63:
        return int(key)
    return key


def _next_index(arr: dict[Any, Any]) -> int:
    ints = [k for k in arr if isinstance(k, int)]
    return max(ints) + 1 if ints and max(ints) >= 0 else 0


def register_variable(into: dict[Any, Any], name: str, value: str) -> None:
    """Store one ``name=value`` pair the way PHP fills ``$_GET`` / ``$_POST``."""
    name = name.lstrip(" ")
    bracket = name.find("[")
    base = name if bracket < 0 else name[:bracket]
    rest = "" if bracket < 0 else name[bracket:]
    # Spaces and dots in the top-level name become underscores.
    base = base.replace(" ", "_").replace(".", "_")
    indexes: list[str | None] = []
    while rest.startswith("["):
        close = rest.find("]")
        if close < 0:
            if not indexes:
                # An unterminated first bracket is not an index: it becomes '_'.
                base = base + "_" + rest[1:].replace(" ", "_").replace(".", "_")
            rest = ""
            break
        inner = rest[1:close]
        indexes.append(None if inner == "" else inner)
        rest = rest[close + 1:]
        if not rest.startswith("["):
            break  # anything after the last ']' is ignored
    if base == "":
        return
    if len(indexes) >= MAX_NESTING:
        return
    if not indexes:
        into[_php_key(base)] = value
        return
    key: Any = _php_key(base)
    container = into
    for idx in indexes:
        current = container.get(key)
        if not isinstance(current, dict):
            current = {}
            container[key] = current
        container = current
        key = _next_index(container) if idx is None else _php_key(idx)
    container[key] = value


def parse_php_vars(pairs: list[tuple[str, str]], max_vars: int | None = None) -> dict[Any, Any]:
    """Turn decoded ``(name, value)`` pairs into PHP's nested ``$_GET``/``$_POST`` array."""
    out: dict[Any, Any] = {}
    for count, (name, value) in enumerate(pairs):
        if max_vars is not None and count >= max_vars:
            break  # PHP drops variables beyond max_input_vars (with a warning)
        register_variable(out, name, value)
    return out


def _decode_pairs(raw: bytes) -> list[tuple[str, str]]:
    # Percent-decode byte-for-byte (latin-1 round trip), then read the bytes as UTF-8.
    text = raw.decode("latin-1")
    return [(k.encode("latin-1").decode("utf-8", "replace"), v.encode("latin-1").decode("utf-8", "replace"))
            for k, v in parse_qsl(text, keep_blank_values=True, encoding="latin-1")]


def _multipart_pairs(body: bytes, content_type: str) -> list[tuple[str, str]]:
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    pairs = []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if name is None or part.get_param("filename", header="content-disposition") is not None:
            continue  # a file (even one with an empty name): $_FILES, not $_POST
        payload = part.get_payload(decode=True)
        text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
        pairs.append((str(name), text))
    return pairs


def _multipart_files(body: bytes, content_type: str) -> dict[str, tuple[str, bytes]]:
    """The file parts of a multipart body as PHP's ``$_FILES``: field -> (client file name, bytes)."""
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    files: dict[str, tuple[str, bytes]] = {}
    if not message.is_multipart():
        return files
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        filename = part.get_param("filename", header="content-disposition")
        if name is None or filename is None:
            continue
        payload = part.get_payload(decode=True)
        # rfc1867.c php_ap_basename(): only what follows the last slash or backslash
        basename = re.split(r"[/\\]", str(filename))[-1]
        files[str(name)] = (basename, payload if isinstance(payload, bytes) else b"")
    return files


def clean_param_file(value: str) -> str:
    """PARAM_FILE (core\\param::clean_param_value_file, ported in oca_sync.moodle.filenames)."""
    return clean_file_name(value)


def clean_param_path(value: str) -> str:
    """PARAM_PATH (core\\param::clean_param_value_path)."""
    crumbs = value.replace("\\", "/").split("/")
    value = "/".join(c if (c == "." and i == 0) else clean_param_file(c) for i, c in enumerate(crumbs))
    value = re.sub(r"//+", "/", value)
    return re.sub(r"/(\./)+", "/", value)


def php_serialize_source(filename: str) -> str:
    """serialize((object)['source' => $filename])."""
    return f'O:8:"stdClass":1:{{s:6:"source";s:{len(filename.encode("utf-8"))}:"{filename}";}}'


def _array_merge(a: dict[Any, Any], b: dict[Any, Any]) -> dict[Any, Any]:
    """PHP array_merge: string keys from ``b`` win, integer keys are renumbered."""
    out: dict[Any, Any] = {}
    n = 0
    for src in (a, b):
        for k, v in src.items():
            if isinstance(k, int):
                out[n] = v
                n += 1
            else:
                out[k] = v
    return out


# --------------------------------------------------------------------------- #
# Output encoding
# --------------------------------------------------------------------------- #


def _php_arrays(value: Any) -> Any:
    """json_encode() prints an empty PHP array as ``[]`` even where a structure is expected,
    and a float without its zero fraction (as :func:`php_json` does, here in the same pass)."""
    if isinstance(value, dict):
        return [] if not value else {k: _php_arrays(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_php_arrays(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _hsc(text: str) -> str:
    """htmlspecialchars($text, ENT_COMPAT): &, <, > and double quotes."""
    return _xml_escape(text, {'"': "&quot;"})


def _xml_value(value: Any) -> str:
    if isinstance(value, bool):
        value = int(value)
    if value is None:
        return '<VALUE null="null"/>\n'
    return f"<VALUE>{_hsc(str(value))}</VALUE>\n"


def xmlize_result(value: Any, desc: Any) -> str:
    """webservice_rest_server::xmlize_result()."""
    if desc is None:
        return ""
    if isinstance(desc, Value):
        return _xml_value(value)
    if isinstance(desc, Multiple):
        items = value.values() if isinstance(value, dict) else (value or [])
        return "<MULTIPLE>\n" + "".join(xmlize_result(v, desc.content) for v in items) + "</MULTIPLE>\n"
    if isinstance(desc, Single):
        out = "<SINGLE>\n"
        for key, sub in desc.keys.items():
            v = value.get(key) if isinstance(value, dict) else None
            out += f'<KEY name="{key}">' + xmlize_result(v, sub) + "</KEY>\n"
        return out + "</SINGLE>\n"
    return ""


def _json_headers() -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "Cache-Control": "private, must-revalidate, pre-check=0, post-check=0, max-age=0",
        "Expires": "Thu, 01 Jan 1970 00:00:00 GMT",
        "Pragma": "no-cache",
        "Accept-Ranges": "none",
        "Access-Control-Allow-Origin": "*",
    }


# --------------------------------------------------------------------------- #
# The server
# --------------------------------------------------------------------------- #


class MoodleSandbox(SandboxServer):
    """An in-memory Moodle 5.1 site behind a real REST web-service endpoint.

    ``plugin`` installs the companion plugin local_ocasync (its fourteen functions,
    :mod:`.moodle_fn_ocasync`); ``attendance`` installs mod_attendance.
    ``token`` is the web-service token of the site administrator (user id 2);
    a random 32-character one is generated when omitted. ``debug=True`` behaves
    like ``$CFG->debug = DEBUG_DEVELOPER`` with ``debugdisplay`` on: error
    answers carry ``debuginfo`` and messages include it. ``langs`` are the
    installed language packs (a fresh Moodle has only ``en``).
    """

    def __init__(
        self,
        token: str | None = None,
        *,
        debug: bool = False,
        langs: tuple[str, ...] = ("en",),
        site_name: str = "Sandbox Moodle",
        password_policy: bool = True,
        multilang_filter: bool = False,
        filterall: bool = False,
        functions: list[str] | None = None,
        max_input_vars: int = 5000,
        plugin: bool = True,
        attendance: bool = True,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(host, port)
        self.token: str = token if token is not None else secrets.token_hex(16)
        self.debug = debug
        self.max_input_vars = max_input_vars
        self._site = SiteConfig(debug=debug, langs=tuple(langs))
        settings = SiteSettings(sitename=site_name, passwordpolicy=password_policy,
                                filters=FilterConfig(multilang_enabled=multilang_filter,
                                                     filterall=filterall))
        self.lock = threading.RLock()
        self.state: MoodleState = new_site(settings)
        #: token -> user id
        self.tokens: dict[str, int] = {self.token: 2}
        self.registry: dict[str, WsFunction] = dict(CORE_FUNCTIONS)
        #: the companion plugin local_ocasync is installed (its functions exist)
        self.plugin = plugin
        #: mod_attendance is installed
        self.attendance = attendance
        self.registry.update(REPORT_REGISTRY)
        if plugin:
            self.registry.update(PLUGIN_REGISTRY)
            self.state.plugins["local_ocasync"] = PLUGIN_VERSION
        if attendance:
            self.state.plugins["mod_attendance"] = ATTENDANCE_VERSION
            self.registry.update(ATTENDANCE_REGISTRY)
        #: functions of the token's external service (None = every emulated function)
        self.service_functions: set[str] | None = set(functions) if functions is not None else None

    # -- public helpers --------------------------------------------------------

    @property
    def ws_url(self) -> str:
        """The REST endpoint, ``<url>/webservice/rest/server.php``."""
        return self.url + WS_PATH

    def wait(self) -> None:
        """Block until the server is stopped (the ``oca-sync sandbox`` command uses this)."""
        thread = self._thread
        while thread is not None and thread.is_alive():
            thread.join(0.5)

    def site_options(self) -> SiteOptions:
        """The SiteOptions a client needs for this site: role ids and installed languages."""
        with self.lock:
            roles = {r["shortname"]: r["id"] for r in self.state.roles.values()}
        return SiteOptions(role_ids=roles, languages=tuple(self._site.langs))

    def register_function(self, function: WsFunction) -> None:
        """Add (or replace) an emulated function, e.g. a companion plugin's."""
        with self.lock:
            self.registry[function.name] = function

    def add_token(self, token: str, userid: int = 2) -> None:
        """Accept another token (for ``userid``; the emulator treats every user as admin, except in the
        plugin's bulk reads, which check capabilities: :mod:`.moodle_fn_ocasync_bulk`)."""
        with self.lock:
            self.tokens[token] = userid

    @contextlib.contextmanager
    def locked_state(self) -> Iterator[MoodleState]:
        """``with sandbox.locked_state() as st:`` read or poke the state safely."""
        with self.lock:
            yield self.state

    def add_module(self, courseid: int, section: int, modname: str, name: str, *,
                   idnumber: str = "", visible: int = 1, completion: int = 0) -> int:
        """Put an activity into a course (what the companion plugin or the UI would do)."""
        with self.lock:
            st = self.state
            sec = next(s for s in st.course_sections(courseid) if s["section"] == section)
            cmid = st.next_id("course_modules")
            instance = st.next_id(f"mod_{modname}")
            st.modules[cmid] = {
                "id": cmid, "course": courseid, "module": 0, "modname": modname,
                "instance": instance, "section": sec["id"], "name": name,
                "idnumber": idnumber, "added": now(), "visible": visible, "visibleold": visible,
                "visibleoncoursepage": 1, "indent": 0, "groupmode": 0, "completion": completion,
            }
            st.instance(st.modules[cmid])
            sec["sequence"].append(cmid)
            st.add_context(CONTEXT_MODULE, cmid, st.course_context(courseid))
            return cmid

    def add_feedback_response(self, cmid: int, userid: int = 2) -> int:
        """Somebody answered a feedback activity (a ``feedback_completed`` row)."""
        with self.lock:
            st = self.state
            cm = st.modules[cmid]
            if cm["modname"] != "feedback":
                raise ValueError(f"course module {cmid} is a {cm['modname']}, not a feedback")
            rid = st.next_id("feedback_completed")
            st.feedback_completed[rid] = {"id": rid, "feedback": cm["instance"], "userid": userid,
                                          "timemodified": now(), "random_response": 0, "anonymous_response": 1,
                                          "courseid": cm["course"]}
            return rid

    def answer_feedback(self, cmid: int, userid: int, answers: dict[str, str], *,
                        timemodified: int | None = None) -> int:
        """``userid`` submitted a feedback activity managed by the plugin: ``answers`` maps our
        question keys to feedback_value.value (a choice's 1-based index, ``"1|3"`` for several).
        A second submission needs ``multiple_submit`` (mod_feedback's completion::can_submit():
        is_already_submitted() refuses it otherwise, anonymous or not). In a named feedback it
        replaces the person's last response (completion::save_response(): find_last_completed(),
        then feedback_save_tmp_values() drops its values and updates it, as seen on the lab);
        an anonymous one is kept beside the others. Returns the response's id."""
        with self.lock:
            st = self.state
            cm = st.modules[cmid]
            inst = st.instance(cm)
            anonymous = int(inst.get("anonymous") or ANONYMOUS_NO)
            mine = [c for c in st.feedback_completed.values() if c["feedback"] == cm["instance"] and c["userid"] == userid]
            if mine and not int(inst.get("multiple_submit") or 0):
                raise ValueError(f"user {userid} already submitted feedback {cmid}, which takes one submission")
            last = next((c for c in mine if c["anonymous_response"] == ANONYMOUS_NO), None)
            if anonymous == ANONYMOUS_NO and last is not None:
                rid = last["id"]
                for vid in [v["id"] for v in st.feedback_values.values() if v["completed"] == rid]:
                    del st.feedback_values[vid]
                last["timemodified"] = now()
            else:
                rid = self.add_feedback_response(cmid, userid)
            completed = st.feedback_completed[rid]
            completed["anonymous_response"] = anonymous
            if timemodified is not None:
                completed["timemodified"] = timemodified
            keys = {r["qkey"]: r["itemid"] for r in st.ocasync_items.values() if r["feedbackid"] == cm["instance"]}
            for key, value in answers.items():
                vid = st.next_id("feedback_value")
                st.feedback_values[vid] = {"id": vid, "course_id": 0, "item": keys[key], "completed": rid,
                                           "tmp_completed": 0, "value": value}
            return rid

    def mark_attendance(self, cmid: int, sessdate: int, userid: int, acronym: str = "P") -> None:
        """Like :meth:`take_attendance`, with the status given by its acronym (P, A, L, E)."""
        with self.lock:
            instance = self.state.modules[cmid]["instance"]
            status = next(s for s in statuses_of(self.state, instance) if s["acronym"] == acronym)
            self.take_attendance(cmid, sessdate, userid, status["id"])

    def take_attendance(self, cmid: int, sessdate: int, userid: int = 2, statusid: int = 1) -> None:
        """Attendance was taken in the session of an attendance activity that starts at ``sessdate``."""
        with self.lock:
            st = self.state
            cm = st.modules[cmid]
            sessions = [s for s in st.attendance_sessions.values()
                        if s["attendanceid"] == cm["instance"] and s["sessdate"] == sessdate]
            if cm["modname"] != "attendance" or not sessions:
                raise ValueError(f"course module {cmid} has no attendance session at {sessdate}")
            t = now()
            for sess in sessions:
                sess.update(lasttaken=t, lasttakenby=2)
                lid = st.next_id("attendance_log")
                st.attendance_log[lid] = {"id": lid, "sessionid": sess["id"], "studentid": userid,
                                          "statusid": statusid, "statusset": "", "timetaken": t, "takenby": 2,
                                          "remarks": ""}
            # Taking attendance in mod_attendance's pages updates the gradebook (structure::take_from_form_data()).
            update_grades(st, cm, [userid])

    def set_module_enabled(self, modname: str, enabled: bool = True) -> None:
        """Enable or disable an activity module type (Site administration > Plugins > Activity modules)."""
        with self.lock:
            if enabled:
                self.state.disabled_modules.discard(modname)
            else:
                self.state.disabled_modules.add(modname)

    def file_content(self, contenthash: str) -> bytes | None:
        """The bytes of a stored file, by its SHA-1 content hash."""
        with self.lock:
            return self.state.filedir.get(contenthash)

    def set_completion_criteria(self, courseid: int, criteria: list[dict[str, Any]]) -> None:
        """Give a course completion criteria (core has no web service for this)."""
        with self.lock:
            self.state.completion_criteria[courseid] = [dict(c) for c in criteria]

    def set_activity_completion(self, userid: int, cmid: int, state: int, timecompleted: int = 0) -> None:
        """Record an activity completion state (0 incomplete, 1 complete, 2 pass, 3 fail)."""
        with self.lock:
            self.state.cm_completion[(userid, cmid)] = {"state": state, "timecompleted": timecompleted}

    def set_enrol_instance(self, courseid: int, plugin: str = "manual", enabled: bool = True) -> None:
        """Enable or disable a course's enrolment instance (``wsnoinstance`` tests)."""
        with self.lock:
            for inst in self.state.course_enrol_instances(courseid):
                if inst["enrol"] == plugin:
                    inst["status"] = ENROL_INSTANCE_ENABLED if enabled else ENROL_INSTANCE_DISABLED

    def remove_enrol_instance(self, courseid: int, plugin: str = "manual") -> None:
        """Delete a course's enrolment instance of ``plugin``."""
        with self.lock:
            for inst in self.state.course_enrol_instances(courseid):
                if inst["enrol"] == plugin:
                    del self.state.enrol[inst["id"]]

    # -- request plumbing --------------------------------------------------------

    def _request_vars(self, request: Request) -> tuple[dict[Any, Any], dict[Any, Any]]:
        """$_GET and $_POST, parsed once per request (callers get top-level copies to pop from)."""
        parsed = request.memo.get("php_vars")
        if parsed is None:
            parsed = request.memo["php_vars"] = self._parse_request_vars(request)
        return dict(parsed[0]), dict(parsed[1])

    def _parse_request_vars(self, request: Request) -> tuple[dict[Any, Any], dict[Any, Any]]:
        get = parse_php_vars(_decode_pairs(request.query.encode("latin-1", "replace")),
                             self.max_input_vars)
        post: dict[Any, Any] = {}
        if request.method == "POST" and request.body:
            ctype = request.headers.get("Content-Type", "")
            if ctype.startswith("multipart/form-data"):
                pairs = _multipart_pairs(request.body, ctype)
            else:
                pairs = _decode_pairs(request.body)
            post = parse_php_vars(pairs, self.max_input_vars)
        return get, post

    def operation_name(self, request: Request) -> str | None:
        if request.path == UPLOAD_PATH:
            return "webservice/upload.php"
        if request.path != WS_PATH:
            return None
        get, post = self._request_vars(request)
        name = post.get("wsfunction", get.get("wsfunction"))
        return name if isinstance(name, str) else None

    def handle_request(self, request: Request) -> Response:
        if request.path not in (WS_PATH, UPLOAD_PATH):
            return Response(404, b"Not found\n", {"Content-Type": "text/plain; charset=utf-8"})
        token = use_site(self._site)
        try:
            if request.path == UPLOAD_PATH:
                return self._serve_upload(request)
            return self._serve_ws(request)
        finally:
            reset_site(token)

    # -- /webservice/upload.php ----------------------------------------------------

    def _serve_upload(self, request: Request) -> Response:
        """public/webservice/upload.php: files into the token user's draft area.

        An AJAX_SCRIPT: errors are answered by core_renderer_ajax::fatal_error()
        (HTTP 200, ``{"error", "errorcode", "stacktrace", "debuginfo",
        "reproductionlink"}``); the answer is ``text/plain`` when files were sent.
        """
        get, post = self._request_vars(request)
        ctype = request.headers.get("Content-Type", "")
        files = (_multipart_files(request.body, ctype)
                 if request.method == "POST" and ctype.startswith("multipart/form-data") else {})
        headers = {
            "Content-Type": "text/plain; charset=utf-8" if files else "application/json; charset=utf-8",
            "Cache-Control": "no-store, no-cache, must-revalidate", "Pragma": "no-cache",
            "Expires": "Mon, 20 Aug 1969 09:23:00 GMT", "Accept-Ranges": "none",
            "Access-Control-Allow-Origin": "*",
        }

        def param(name: str) -> Any:  # optional_param()/required_param(): POST before GET
            value = post.get(name, get.get(name))
            return None if isinstance(value, dict) else value

        self.log_call("webservice/upload.php", {
            "filepath": param("filepath"), "itemid": param("itemid"), "files": [f[0] for f in files.values()]})
        try:
            with self.lock:
                results = self._upload(param, files)
        except (MoodleException, PhpError) as exc:
            return Response(200, php_json(self._ajax_error(exc)).encode(), headers)
        return Response(200, php_json(results).encode(), headers)

    def _upload(self, param: Any, files: dict[str, tuple[str, bytes]]) -> list[dict[str, Any]]:
        st = self.state
        raw_path = param("filepath")
        filepath = "/" if raw_path is None else clean_param_path(str(raw_path))
        raw_itemid = param("itemid")
        itemid = 0 if raw_itemid is None else php_int(raw_itemid)
        token = param("token")
        if token is None:
            raise MoodleException("missingparam", "error", "token")
        userid = self.tokens.get(clean_param(token, PARAM_ALPHANUM))
        if userid is None:  # webservice::authenticate_user()
            raise MoodleException("invalidtoken", "webservice")
        user = st.users[userid]
        contextid = st.user_context(userid)
        uploads: list[tuple[dict[str, Any], bytes]] = []
        for original, content in files.values():
            if original == "":  # UPLOAD_ERR_NO_FILE
                raise MoodleException("upload_error_no_file", "repository_upload")
            # What the answer shows of a file that was not stored: its $file object.
            uploads.append(({"avscantime": 0.0001, "filename": clean_param_file(original),
                             "filepath": "/tmp/php" + secrets.token_hex(3), "size": len(content)}, content))
        if itemid <= 0:  # file_get_unused_draft_itemid()
            itemid = secrets.randbelow(999999999) + 1
            while st.area_files(contextid, "user", "draft", itemid):
                itemid = secrets.randbelow(999999999) + 1
        results: list[dict[str, Any]] = []
        for up, content in uploads:
            if st.file_exists(contextid, "user", "draft", itemid, filepath, up["filename"]):
                results.append({**up, "errortype": "filenameexist",
                                "error": get_string("filenameexist", "webservice", up["filename"])})
                continue
            # file_storage::create_file_from_pathname() validation
            if not filepath.startswith("/") or not filepath.endswith("/"):
                raise MoodleException("storedfileproblem", "error", "Invalid file path")
            if up["filename"] == "":
                raise MoodleException("storedfileproblem", "error", "Invalid file name")
            record = {
                "component": "user", "contextid": contextid, "userid": str(userid), "filearea": "draft",
                "filename": up["filename"], "filepath": filepath, "itemid": itemid, "license": "unknown",
                "author": fullname(user), "source": php_serialize_source(up["filename"]),
                "filesize": up["size"],
            }
            st.add_file(content, **{**record, "userid": userid})
            results.append(record)
        return results

    def _ajax_error(self, exc: MoodleException | PhpError) -> dict[str, Any]:
        """get_exception_info() + core_renderer_ajax::fatal_error()."""
        code = exc.errorcode if exc.errorcode is not None else "generalexceptionmessage"
        if isinstance(exc, MoodleException):
            message = get_string(exc.errorcode, exc.module, exc.a) or f"{exc.module}/{exc.errorcode}"
        else:
            message = f"Exception - {exc.message}"
        out: dict[str, Any] = {"error": message, "errorcode": code, "stacktrace": None, "debuginfo": None,
                               "reproductionlink": None}
        if self.debug:
            out["reproductionlink"] = self.url + "/"
            out["debuginfo"] = (exc.debuginfo or "") + f"\nError code: {code}"
            out["stacktrace"] = f"* line 0 of /webservice/upload.php: {exc.exception_class} thrown\n"
        return out

    def _serve_ws(self, request: Request) -> Response:
        get, post = self._request_vars(request)
        # set_web_service_call_settings(): optional_param reads POST before GET.
        settings = OutputSettings()
        for name in ("raw", "fileurl", "filter", "lang", "timezone"):
            key = "moodlewssetting" + name
            raw = post.get(key, get.get(key))
            get.pop(key, None)
            post.pop(key, None)
            if raw is None or isinstance(raw, dict):
                continue
            if name in ("raw", "fileurl", "filter"):
                setattr(settings, name, bool(clean_param(raw, PARAM_BOOL)))
            elif name == "lang":
                settings.lang = clean_param(raw, PARAM_LANG)
            else:
                settings.timezone = clean_param(raw, PARAM_TIMEZONE)
        variables = _array_merge(get, post)
        fmt = variables.pop("moodlewsrestformat", None)
        restformat = fmt if fmt in ("xml", "json") else "xml"
        wstoken = variables.pop("wstoken", None)
        function = variables.pop("wsfunction", None)
        params = variables
        self.log_call(function if isinstance(function, str) else "", params)

        desc = None
        try:
            with self.lock:
                userid = self.tokens.get(wstoken) if isinstance(wstoken, str) else None
                if userid is None:
                    raise MoodleException("invalidtoken", "webservice")
                if php_empty_name(function):
                    raise InvalidParameterException("Missing function name")
                wsf = self.registry.get(function) if isinstance(function, str) else None
                if wsf is None:
                    raise missing_record("external_functions", {"name": function})
                if self.service_functions is not None and function not in self.service_functions:
                    raise WebserviceAccessException(_access_denied(function))
                desc = wsf.returns
                validated = validate_parameters(wsf.params, params)
                ctx = Ctx(self.state, userid, settings, self.url, self._available_functions())
                saved = self.state.snapshot() if wsf.transaction else None
                try:
                    result = wsf.handler(ctx, validated)
                    self.state.apply_cascades()
                    cleaned = clean_returnvalue(wsf.returns, result)
                except BaseException:
                    if saved is not None:
                        self.state.restore(saved)
                    raise
        except (MoodleException, PhpError) as exc:
            return self._error(exc, restformat)
        except Exception as exc:  # noqa: BLE001 - a sandbox bug: make it loud, not Moodle-shaped
            return Response(500, f"sandbox internal error: {type(exc).__name__}: {exc}\n".encode(),
                            {"Content-Type": "text/plain; charset=utf-8"})
        if restformat == "json":
            return Response(200, php_json_dumps(_php_arrays(cleaned)).encode(), _json_headers())
        body = '<?xml version="1.0" encoding="UTF-8" ?>\n<RESPONSE>\n'
        body += xmlize_result(cleaned, desc) + "</RESPONSE>\n"
        return Response(200, body.encode(), _xml_headers())

    def _available_functions(self) -> list[str]:
        names = sorted(self.registry)
        if self.service_functions is not None:
            names = [n for n in names if n in self.service_functions]
        return names

    def _error(self, exc: MoodleException | PhpError, restformat: str) -> Response:
        """webservice_rest_server::generate_error()."""
        if restformat == "json":
            return Response(200, php_json(exc.to_json(self.debug)).encode(), _json_headers())
        body = '<?xml version="1.0" encoding="UTF-8" ?>\n'
        body += f'<EXCEPTION class="{exc.exception_class}">\n'
        if exc.errorcode is not None:
            body += f"<ERRORCODE>{_hsc(exc.errorcode)}</ERRORCODE>\n"
        body += f"<MESSAGE>{_hsc(exc.message)}</MESSAGE>\n"
        if self.debug and exc.debuginfo is not None:
            body += f"<DEBUGINFO>{_hsc(exc.debuginfo)}</DEBUGINFO>\n"
        body += "</EXCEPTION>\n"
        return Response(200, body.encode(), _xml_headers())

    # -- control API -------------------------------------------------------------

    def control(self, action: str, request: Request) -> Response | None:
        if action == "state" and request.method == "GET":
            with self.lock:
                st = self.state
                dump: dict[str, Any] = {name: list(getattr(st, name).values()) for name in (
                    "users", "categories", "courses", "sections", "modules", "enrol",
                    "user_enrolments", "role_assignments", "groups", "group_members", "events",
                    "files", "feedback_items", "feedback_completed", "feedback_values", "attendance_sessions",
                    "attendance_log", "attendance_statuses", "ocasync_sections", "ocasync_items")}
                dump["mod_instances"] = {k: list(v.values()) for k, v in st.mod_instances.items()}
                dump["plugins"] = dict(st.plugins)
            return Response.json(dump)
        if action == "token" and request.method == "GET":
            return Response.json({"token": self.token, "ws_url": self.ws_url})
        return None


def php_empty_name(value: Any) -> bool:
    return value is None or value == "" or value == "0" or isinstance(value, dict) and not value


def _xml_headers() -> dict[str, str]:
    headers = _json_headers()
    headers["Content-Type"] = "application/xml; charset=utf-8"
    headers["Content-Disposition"] = 'inline; filename="response.xml"'
    return headers


def _access_denied(function: str) -> str:
    return (f"Access to the function {function}() is not allowed.\n"
            "                     There could be multiple reasons for this:\n"
            "                     1. The service linked to the user token does not contain the function.\n"
            "                     2. The service is user-restricted and the user is not listed.\n"
            "                     3. The service is IP-restricted and the user IP is not listed.\n"
            "                     4. The service is time-restricted and the time has expired.\n"
            "                     5. The token is time-restricted and the time has expired.\n"
            "                     6. The service requires a specific capability which the user does not have.\n"
            "                     7. The function is called with username/password (no user token is sent)\n"
            "                     and none of the services has the function to allow the user.\n"
            "                     These settings can be found in Administration > Site administration\n"
            "                     > Server > Web services > External services and Manage tokens.")


