"""A small Hub-compatible HTTP server on 127.0.0.1, enough for huggingface_hub's upload and
download paths.

It answers what `HfApi.whoami`, `create_repo`, `upload_folder`, `snapshot_download` and
`hf_hub_download` (without Xet, i.e. HF_HUB_DISABLE_XET=1) call, the way the real Hub does:

    GET  /api/whoami-v2                                   who owns the token (401 if unknown)
    POST /api/repos/create                                403 outside the user's namespace,
                                                          409 if it exists
    GET  /api/models/{repo}                               repo_info (create_repo(exist_ok) asks
                                                          it after a 403)
    GET  /api/models/{repo}/revision/{rev}                repo_info at a revision: its commit
                                                          (sha) and files (siblings)
    GET  /api/models/{repo}/tree/{rev}                    the files at a revision (size, git oid,
                                                          lfs {oid, size} for LFS files), one page
    HEAD /{repo}/resolve/{rev}/{path}                     a file's metadata: X-Repo-Commit, ETag
                                                          (git blob oid; for LFS files the sha256,
                                                          also as X-Linked-Etag), Content-Length,
                                                          X-Linked-Size for LFS files
    GET  /{repo}/resolve/{rev}/{path}                     the file's bytes, with the same headers
    POST /api/validate-yaml                               the model card's metadata, checked
    POST /api/models/{repo}/preupload/{rev}               "lfs" for files >= lfs_threshold bytes,
                                                          else "regular"
    POST /{repo}.git/info/lfs/objects/batch               git-LFS batch: upload + verify actions
    PUT  /lfs/{oid}                                       the LFS object itself (sha256 checked)
    POST /lfs/verify                                      the object arrived whole
    POST /api/models/{repo}/commit/{rev}                  NDJSON: header, file (base64),
                                                          lfsFile (oid)

`HubServer.repos[repo_id].files` ends up with the bytes of every committed file; `requests`
records (method, path, headers) of every call so tests can check what went over the wire.

Reads: a revision is `main` (the files now, committed or put into `files` by a test) or the
commit id of any earlier commit (`Repo.history`); a commit id is a hash of the files, so a
revision is its content. A file is LFS when it is at least `lfs_threshold` bytes (as preupload
decides for uploads). Private repos are found only with their owner's token, gated ones read
only with it; without a token both answer 401, as the Hub does (404 with another user's token,
403 for gated), and an unknown token gets 401 "Invalid credentials".
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

import yaml


@dataclass
class Repo:
    owner: str
    private: bool = False
    gated: bool = False
    files: dict[str, bytes] = field(default_factory=dict)
    commits: int = 0
    history: dict[str, dict[str, bytes]] = field(default_factory=dict)  # commit id -> files

    def head(self) -> str:
        return content_id(self.files)

    def commit_files(self, files: dict[str, bytes]) -> str:
        """Add or replace `files` in one commit (what a commit call does); its commit id."""
        self.files.update(files)
        self.commits += 1
        self.history[self.head()] = dict(self.files)
        return self.head()

    def at(self, revision: str) -> tuple[str, dict[str, bytes]] | None:
        """(commit id, files) at `revision`: main, or an earlier commit's id."""
        if revision in ("main", self.head()):
            return self.head(), self.files
        return (revision, self.history[revision]) if revision in self.history else None


def content_id(files: dict[str, bytes]) -> str:
    """A 40-hex commit id standing for exactly these files."""
    digest = hashlib.sha1()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    return digest.hexdigest()


def git_blob_id(content: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


class HubServer:
    def __init__(self, tokens: dict[str, str], lfs_threshold: int = 1024):
        self.tokens = tokens  # token -> user name
        self.lfs_threshold = lfs_threshold
        self.repos: dict[str, Repo] = {}
        self.lfs_objects: dict[str, bytes] = {}
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.bodies: list[bytes] = []
        self.yaml_checked: list[dict[str, Any]] = []
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def __enter__(self) -> HubServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def _handler_class(self) -> type:
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def do_GET(self) -> None:
                hub.dispatch(self, "GET")

            def do_HEAD(self) -> None:
                hub.dispatch(self, "HEAD")

            def do_POST(self) -> None:
                hub.dispatch(self, "POST")

            def do_PUT(self) -> None:
                hub.dispatch(self, "PUT")

        return Handler

    # ------------------------------------------------------------------------- plumbing

    def dispatch(self, request: BaseHTTPRequestHandler, method: str) -> None:
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length) if length else b""
        path = request.path.split("?", 1)[0]
        self.requests.append(
            (method, request.path, {k.lower(): v for k, v in request.headers.items()})
        )
        self.bodies.append(body)
        for pattern, wanted, handler in self.routes():
            match = re.fullmatch(pattern, unquote(path))
            if match and (method == wanted or (method, wanted) == ("HEAD", "GET")):
                status, payload, headers = handler(request, body, *match.groups())
                return self.reply(request, status, payload, headers, send_body=method != "HEAD")
        self.reply(request, 404, {"error": f"no route {method} {path}"}, {})

    @staticmethod
    def reply(
        request: BaseHTTPRequestHandler,
        status: int,
        payload: Any,
        headers: dict[str, str],
        send_body: bool = True,
    ) -> None:
        """JSON, or a file's bytes as they are; a HEAD request gets the headers only."""
        raw = isinstance(payload, bytes)
        data = payload if raw else json.dumps(payload).encode()
        request.send_response(status)
        request.send_header(
            "Content-Type", "application/octet-stream" if raw else "application/json"
        )
        request.send_header("Content-Length", str(len(data)))
        for key, value in headers.items():
            request.send_header(key, value)
        request.end_headers()
        if send_body:
            request.wfile.write(data)

    def routes(self) -> list[tuple[str, str, Any]]:
        repo = r"([\w.-]+/[\w.-]+)"
        return [
            (r"/api/whoami-v2", "GET", self.whoami),
            (r"/api/repos/create", "POST", self.create_repo),
            (rf"/api/models/{repo}", "GET", self.repo_info),
            (rf"/api/models/{repo}/revision/([^/]+)", "GET", self.revision_info),
            (rf"/api/models/{repo}/tree/([^/]+)", "GET", self.tree),
            (rf"/{repo}/resolve/([^/]+)/(.+)", "GET", self.resolve),  # and HEAD
            (r"/api/validate-yaml", "POST", self.validate_yaml),
            (rf"/api/models/{repo}/preupload/([^/]+)", "POST", self.preupload),
            (rf"/{repo}\.git/info/lfs/objects/batch", "POST", self.lfs_batch),
            (r"/lfs/([0-9a-f]{64})", "PUT", self.lfs_put),
            (r"/lfs/verify", "POST", self.lfs_verify),
            (rf"/api/models/{repo}/commit/([^/]+)", "POST", self.commit),
        ]

    def user(self, request: BaseHTTPRequestHandler) -> str | None:
        header = request.headers.get("Authorization", "")
        return self.tokens.get(header.removeprefix("Bearer ").strip()) if header else None

    def readable(self, request: BaseHTTPRequestHandler, repo_id: str) -> Any:
        """None when the caller may read `repo_id`, else the error reply the Hub gives."""
        if request.headers.get("Authorization") and self.user(request) is None:
            return self.unauthorized()
        user, repo = self.user(request), self.repos.get(repo_id)
        if repo is None or (repo.private and repo.owner != user):
            status = 404 if user else 401  # the Hub hides private repos as missing ones
            message = "Repository not found"
            return (
                status,
                {"error": message},
                {"X-Error-Code": "RepoNotFound", "X-Error-Message": message},
            )
        if repo.gated and repo.owner != user:
            message = "Access to this model is restricted: you must be granted access"
            headers = {"X-Error-Code": "GatedRepo", "X-Error-Message": message}
            return (403 if user else 401), {"error": message}, headers
        return None

    @staticmethod
    def no_revision(revision: str) -> tuple[int, Any, dict[str, str]]:
        message = f"Invalid rev id: {revision}"
        return (
            404,
            {"error": message},
            {"X-Error-Code": "RevisionNotFound", "X-Error-Message": message},
        )

    @staticmethod
    def unauthorized() -> tuple[int, Any, dict[str, str]]:
        message = "Invalid credentials in Authorization header"
        return 401, {"error": message}, {"X-Error-Message": message}

    @staticmethod
    def forbidden(message: str) -> tuple[int, Any, dict[str, str]]:
        return 403, {"error": message}, {"X-Error-Message": message}

    def writable(self, request: BaseHTTPRequestHandler, repo_id: str) -> Any:
        """None when the caller may write to `repo_id`, else the error reply."""
        user = self.user(request)
        if user is None:
            return self.unauthorized()
        repo = self.repos.get(repo_id)
        if repo is None:
            return 404, {"error": "Repository not found"}, {"X-Error-Code": "RepoNotFound"}
        if repo.owner != user:
            return self.forbidden(f"You don't have the rights to write to {repo_id}")
        return None

    # ------------------------------------------------------------------------- endpoints

    def whoami(self, request, body):
        user = self.user(request)
        if user is None:
            return self.unauthorized()
        return (
            200,
            {
                "type": "user",
                "name": user,
                "orgs": [],
                "auth": {"type": "access_token", "accessToken": {"role": "write"}},
            },
            {},
        )

    def create_repo(self, request, body):
        user = self.user(request)
        if user is None:
            return self.unauthorized()
        spec = json.loads(body)
        namespace = spec.get("organization") or user
        repo_id = f"{namespace}/{spec['name']}"
        if namespace != user:
            return self.forbidden(
                f'You don\'t have the rights to create a model under the namespace "{namespace}"'
            )
        if repo_id in self.repos:
            return (
                409,
                {"error": "You already created this model repo", "url": f"{self.url}/{repo_id}"},
                {},
            )
        # huggingface_hub 2.x sends "visibility": "private", 1.x "private": true; the Hub
        # takes both
        private = spec.get("visibility") == "private" or spec.get("private") is True
        self.repos[repo_id] = Repo(owner=user, private=private)
        return 200, {"url": f"{self.url}/{repo_id}", "name": repo_id}, {}

    def repo_info(self, request, body, repo_id):
        return self.revision_info(request, body, repo_id, "main")

    def revision_info(self, request, body, repo_id, revision):
        if (error := self.readable(request, repo_id)) is not None:
            return error
        repo = self.repos[repo_id]
        if (found := repo.at(revision)) is None:
            return self.no_revision(revision)
        sha, files = found
        return (
            200,
            {
                "id": repo_id,
                "private": repo.private,
                "gated": "manual" if repo.gated else False,
                "sha": sha,
                "siblings": [{"rfilename": f} for f in files],
            },
            {},
        )

    def tree(self, request, body, repo_id, revision):
        if (error := self.readable(request, repo_id)) is not None:
            return error
        if (found := self.repos[repo_id].at(revision)) is None:
            return self.no_revision(revision)
        entries = []
        for path, content in found[1].items():
            entry = {"type": "file", "path": path, "size": len(content)}
            entry["oid"] = git_blob_id(content)
            if len(content) >= self.lfs_threshold:
                sha256 = hashlib.sha256(content).hexdigest()
                entry["lfs"] = {"oid": sha256, "size": len(content), "pointerSize": 134}
            entries.append(entry)
        return 200, entries, {}

    def resolve(self, request, body, repo_id, revision, path):
        if (error := self.readable(request, repo_id)) is not None:
            return error
        if (found := self.repos[repo_id].at(revision)) is None:
            return self.no_revision(revision)
        sha, files = found
        if path not in files:
            message = f"{path} does not exist at {revision}"
            return 404, {"error": message}, {"X-Error-Code": "EntryNotFound", "X-Repo-Commit": sha}
        content = files[path]
        headers = {"X-Repo-Commit": sha, "ETag": f'"{git_blob_id(content)}"'}
        if len(content) >= self.lfs_threshold:  # the Hub names an LFS file by its sha256
            sha256 = hashlib.sha256(content).hexdigest()
            headers["ETag"] = headers["X-Linked-Etag"] = f'"{sha256}"'
            headers["X-Linked-Size"] = str(len(content))
        return 200, content, headers

    def validate_yaml(self, request, body):
        if self.user(request) is None:
            return self.unauthorized()
        content = json.loads(body)["content"]
        errors = [{"message": m} for m in card_metadata_errors(content)]
        self.yaml_checked.append({"content": content, "errors": errors})
        return (400, {"errors": errors}, {}) if errors else (200, {"warnings": []}, {})

    def preupload(self, request, body, repo_id, revision):
        if (error := self.writable(request, repo_id)) is not None:
            return error
        files = json.loads(body)["files"]
        modes = [
            {
                "path": f["path"],
                "shouldIgnore": False,
                "oid": None,
                "uploadMode": "lfs" if f["size"] >= self.lfs_threshold else "regular",
            }
            for f in files
        ]
        return 200, {"files": modes, "commitOid": "0" * 40}, {}

    def lfs_batch(self, request, body, repo_id):
        if (error := self.writable(request, repo_id)) is not None:
            return error
        spec = json.loads(body)
        objects = [
            {
                "oid": o["oid"],
                "size": o["size"],
                "authenticated": True,
                "actions": {
                    "upload": {"href": f"{self.url}/lfs/{o['oid']}"},
                    "verify": {"href": f"{self.url}/lfs/verify"},
                },
            }
            for o in spec["objects"]
        ]
        return 200, {"transfer": "basic", "objects": objects}, {}

    def lfs_put(self, request, body, oid):
        if hashlib.sha256(body).hexdigest() != oid:
            return 400, {"error": "sha256 mismatch"}, {}
        self.lfs_objects[oid] = body
        return 200, {}, {}

    def lfs_verify(self, request, body):
        spec = json.loads(body)
        stored = self.lfs_objects.get(spec["oid"])
        if stored is None or len(stored) != spec["size"]:
            return 404, {"error": "object not found"}, {}
        return 200, {}, {}

    def commit(self, request, body, repo_id, revision):
        if (error := self.writable(request, repo_id)) is not None:
            return error
        lines = [json.loads(line) for line in body.decode().splitlines() if line.strip()]
        if not lines or lines[0]["key"] != "header":
            return 400, {"error": "commit payload must start with a header line"}, {}
        staged = {}
        for line in lines[1:]:
            value = line["value"]
            if line["key"] == "file":
                staged[value["path"]] = base64.b64decode(value["content"])
            elif line["key"] == "lfsFile":
                if value["oid"] not in self.lfs_objects:
                    return 400, {"error": f"LFS object of {value['path']} was never uploaded"}, {}
                staged[value["path"]] = self.lfs_objects[value["oid"]]
            else:
                return 400, {"error": f"unsupported commit line {line['key']}"}, {}
        oid = self.repos[repo_id].commit_files(staged)
        return (
            200,
            {"commitUrl": f"{self.url}/{repo_id}/commit/{oid}", "commitOid": oid, "success": True},
            {},
        )


def card_metadata_errors(content: str) -> list[str]:
    """Checks the Hub applies to a model card's YAML header (the subset ftk writes)."""
    match = re.match(r"^---\n(.*?)\n---\n", content, flags=re.S)
    if not match:
        return ["README.md has no YAML metadata block"]
    try:
        meta = yaml.safe_load(match.group(1))
    except yaml.YAMLError as exc:
        return [f"metadata is not valid YAML: {exc}"]
    errors = []
    for key, kind in (
        ("license", str),
        ("pipeline_tag", str),
        ("tags", list),
        ("metrics", list),
        ("datasets", list),
        ("base_model", str),
    ):
        if key in meta and not isinstance(meta[key], kind):
            errors.append(f'"{key}" must be a {kind.__name__}')
    base = meta.get("base_model")
    if isinstance(base, str) and not re.fullmatch(r"[\w.-]+(/[\w.-]+)?", base):
        errors.append(f'"base_model" must be a Hub model id, got {base!r}')
    return errors + model_index_errors(meta.get("model-index") or [])


def model_index_errors(model_index: list) -> list[str]:
    errors = []
    for entry in model_index:
        if "name" not in entry:
            errors.append('"model-index[].name" is required')
        for result in entry.get("results", []):
            if "type" not in result.get("task", {}):
                errors.append('"model-index[].results[].task.type" is required')
            if not {"name", "type"} <= set(result.get("dataset", {})):
                errors.append('"model-index[].results[].dataset" needs name and type')
            for metric in result.get("metrics", []):
                if "type" not in metric or not isinstance(metric.get("value"), (int, float)):
                    errors.append(
                        '"model-index[].results[].metrics[]" needs type and a numeric value'
                    )
    return errors
