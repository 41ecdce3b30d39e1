"""Pushing a finished run directory to the Hugging Face Hub (`ftk push`, `push_to_hub: true`).

huggingface_hub does the work: `create_repo(exist_ok=True)` then one `upload_folder` commit of
the run directory without its checkpoints. The token comes from HF_TOKEN or the stored
`hf auth login`; it is handed to the client and never printed or written anywhere. The Hub's
answers become one clear message each: no token, token rejected (401), no right to write to
the repo (403), Hub unreachable. HF_ENDPOINT points the client at another Hub-compatible server.
"""

from __future__ import annotations

import contextlib
import fnmatch
from collections.abc import Iterator
from pathlib import Path

import yaml
from huggingface_hub import CommitOperationAdd

from toolkit.core.errors import UserError
from toolkit.core.log import say
from toolkit.core.run_files import README, RUN_CONFIG
from toolkit.outputs.model_card import USAGE_PLACEHOLDER
from toolkit.outputs.run_dir import check_run_dir

# Checkpoints serve resuming; the Hub gets the final model and the run's records only.
IGNORED = ["checkpoint-*", "checkpoint-*/**", "*.pt", "*.pth", "training_args.bin"]
TOKEN_HELP = (
    "Create a token with write access at https://huggingface.co/settings/tokens, then "
    "set it in the HF_TOKEN environment variable or run `hf auth login`."
)


# Text files of a run that quote the run's inputs by path.
QUOTING_FILES = (README, RUN_CONFIG)


def push_run(run_dir: Path, repo_id: str, private: bool = False) -> str:
    """Upload `run_dir` to the model repo `repo_id` (created if needed) in one commit; returns
    its URL. Absolute local paths in the model card and run_config.yaml go up as file names."""
    check_pushable(run_dir)
    api = authenticated_api(repo_id)
    local = local_paths(run_dir)
    with hub_errors(repo_id, api.endpoint):
        url = api.create_repo(repo_id, repo_type="model", private=private, exist_ok=True)
        commit = api.create_commit(
            repo_id=repo_id,
            repo_type="model",
            operations=upload_operations(run_dir, local, repo_id),
            commit_message=f"Upload {run_dir.name} (ftk run)",
        )
    if local:
        shown = ", ".join(f"{path} -> {name}" for path, name in list(local.items())[:3])
        say(
            f"In the upload, {' and '.join(QUOTING_FILES)} name local paths by their last "
            f"part ({shown}); the run directory here is unchanged."
        )
    say(f"Pushed {run_dir} to {url} (commit {commit.oid[:10]})")
    return str(url)


def local_paths(run_dir: Path) -> dict[str, str]:
    """Absolute paths of this machine that the run's config names (data files and folders,
    a local base model, the run directory) -> the name each goes up as."""
    settings = yaml.safe_load((run_dir / RUN_CONFIG).read_text()) or {}
    data, model = settings.get("data") or {}, settings.get("model") or {}
    named = [
        data.get(f"{split}_{kind}")
        for split in ("train", "validation", "test")
        for kind in ("file", "dir")
    ] + [model.get("name_or_path"), settings.get("output_dir")]
    absolute = [p for p in named if isinstance(p, str) and Path(p).is_absolute()]
    return {p: Path(p).name for p in sorted(set(absolute), key=len, reverse=True)}


def upload_operations(
    run_dir: Path, local: dict[str, str], repo_id: str
) -> list[CommitOperationAdd]:
    """Every file of the run but checkpoints; the quoting files with local paths replaced, and
    the card's usage snippet naming `repo_id`."""
    operations = []
    for path in sorted(p for p in run_dir.rglob("*") if p.is_file()):
        name = path.relative_to(run_dir).as_posix()
        if any(fnmatch.fnmatch(name, pattern) for pattern in IGNORED):
            continue
        content: str | bytes = str(path)
        if name in QUOTING_FILES:
            text = path.read_text()
            for absolute, short in local.items():
                text = text.replace(absolute, short)
            if name == README:  # the usage snippet names the repo it now lives in
                text = text.replace(f'model="{USAGE_PLACEHOLDER}"', f'model="{repo_id}"')
            content = text.encode()
        operations.append(CommitOperationAdd(path_in_repo=name, path_or_fileobj=content))
    return operations


def authenticated_api(repo_id: str):  # -> HfApi
    """An HfApi holding a token the Hub accepts; checked before any upload (or training) starts."""
    from huggingface_hub import HfApi, get_token

    check_repo_id(repo_id)
    token = get_token()
    if not token:
        raise UserError(f"No Hugging Face token found to push to '{repo_id}'. {TOKEN_HELP}")
    api = HfApi(token=token)
    with hub_errors(repo_id, api.endpoint):
        api.whoami()
    return api


def check_repo_id(repo_id: str | None) -> None:
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    if not repo_id:
        raise UserError(
            "No Hub repository given: set hub_model_id (e.g. me/bbc-minilm) in the "
            "config or pass --repo-id."
        )
    try:
        validate_repo_id(repo_id)
    except HFValidationError as exc:
        raise UserError(
            f"'{repo_id}' is not a valid Hub repository id ({exc}). Write "
            f"NAMESPACE/NAME, e.g. me/bbc-minilm."
        ) from None


def check_pushable(run_dir: Path) -> None:
    check_run_dir(run_dir)
    if not (run_dir / "README.md").is_file():
        raise UserError(
            f"'{run_dir}' has no model card (README.md); it was not written by a "
            f"finished `ftk train` run."
        )


def transport_error() -> type[Exception]:
    """The connection-failure class of the HTTP client huggingface_hub uses: httpx2, which
    hub 2.x exports as `huggingface_hub.utils.httpx`, or plain httpx in hub 1.x."""
    try:
        from huggingface_hub.utils import httpx
    except ImportError:  # huggingface_hub 1.x imports httpx itself and does not re-export it
        import httpx  # type: ignore[no-redef]  # the same module under one name, either version
    return httpx.TransportError


@contextlib.contextmanager
def hub_errors(repo_id: str, endpoint: str) -> Iterator[None]:
    """Turn the client's exceptions into one paragraph each (none of them holds the token)."""
    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

    try:
        yield
    except OfflineModeIsEnabled:
        raise UserError(
            "HF_HUB_OFFLINE is set, so nothing can be pushed. Unset it (or set it to 0) to push."
        ) from None
    except HfHubHTTPError as exc:
        status = exc.response.status_code if exc.response is not None else None
        raise UserError(http_message(status, exc, repo_id, endpoint)) from None
    except (transport_error(), ConnectionError) as exc:
        raise UserError(
            f"Could not reach the Hub at {endpoint} ({type(exc).__name__}): the "
            f"network or the server is unreachable. Check the connection, proxy "
            f"settings and HF_ENDPOINT, then push again with `ftk push`."
        ) from None
    except ValueError as exc:  # e.g. "Invalid metadata in README.md", from validate-yaml
        raise UserError(f"The Hub refused the upload to '{repo_id}': {exc}") from None


def http_message(status: int | None, exc: Exception, repo_id: str, endpoint: str) -> str:
    if status == 401:
        return (
            f"The Hub at {endpoint} rejected the token (HTTP 401: invalid or expired). {TOKEN_HELP}"
        )
    if status == 403:
        return (
            f"The token may not write to '{repo_id}' (HTTP 403): the repository or its "
            f"namespace '{repo_id.split('/')[0]}' belongs to someone else, or the token is "
            f"read-only. Push to a namespace you own (your user name or an organization "
            f"you can write to), or use a token with write access."
        )
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"The Hub answered HTTP {status} while pushing to '{repo_id}': {first}"
