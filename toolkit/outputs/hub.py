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
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml
from huggingface_hub import CommitOperationAdd

from toolkit.core.errors import UserError
from toolkit.core.log import say
from toolkit.core.run_files import (
    BASELINE_FILE,
    HISTORY,
    METRICS,
    README,
    RUN_CONFIG,
    SEARCH_JSON,
)
from toolkit.model.lora import ADAPTER_DIR
from toolkit.outputs.model_card import USAGE_PLACEHOLDER
from toolkit.outputs.report import REPORT
from toolkit.outputs.run_dir import check_run_dir

# What a model repo gets from a run, and nothing else unless `--include` names it: the final
# model (and a LoRA run's adapter), its tokenizer or image processor, the card, the run's records
# and plots. Checkpoints (resuming), search.db (a local study), trials, notes, secrets and files
# of unknown kind stay here. A pattern without "/" names a file at the top of the run only.
PUSHED_FILES = (
    "*.safetensors",
    "config.json",
    "generation_config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "vocab.txt",
    "vocab.json",
    "merges.txt",
    "*.model",  # sentencepiece vocabularies
    "preprocessor_config.json",
    "processor_config.json",
    README,
    RUN_CONFIG,
    REPORT,
    "*.png",
    METRICS,
    HISTORY,
    BASELINE_FILE,
    SEARCH_JSON,
    f"{ADAPTER_DIR}/adapter_config.json",
    f"{ADAPTER_DIR}/adapter_model.safetensors",
    f"{ADAPTER_DIR}/README.md",
)
TOKEN_HELP = (
    "Create a token with write access at https://huggingface.co/settings/tokens, then "
    "set it in the HF_TOKEN environment variable or run `hf auth login`."
)


# Text files of a run that quote the run's inputs by path.
QUOTING_FILES = (README, RUN_CONFIG)


def push_run(
    run_dir: Path,
    repo_id: str,
    private: bool = False,
    include: Sequence[str] = (),
    dry_run: bool = False,
) -> str:
    """Upload the model repo files of `run_dir` (PUSHED_FILES, plus the `include` patterns) to
    the model repo `repo_id` (created if needed) in one commit, saying what goes and what stays;
    returns its URL ('' for a dry run, which uploads nothing). Absolute local paths in the model
    card and run_config.yaml go up as file names."""
    check_pushable(run_dir)
    chosen = chosen_files(run_dir, include)
    say(describe_choice(chosen, dry_run))
    if dry_run:
        return ""
    api = authenticated_api(repo_id)
    local = local_paths(run_dir)
    with hub_errors(repo_id, api.endpoint):
        url = api.create_repo(repo_id, repo_type="model", private=private, exist_ok=True)
        commit = api.create_commit(
            repo_id=repo_id,
            repo_type="model",
            operations=upload_operations(run_dir, chosen.sent, local, repo_id),
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


@dataclass
class ChosenFiles:
    sent: list[str]  # paths inside the run, as they go up
    left: dict[str, str]  # path inside the run -> why it stays here
    size: int  # bytes sent


def chosen_files(run_dir: Path, include: Sequence[str]) -> ChosenFiles:
    """The run's files split into those a model repo gets and those that stay, with why. Never
    sent: dotfiles and anything under a dot folder (.env, .git), links (they may lead out of the
    run), checkpoints. Files of no known kind are sent only when `include` names them."""
    sent: list[str] = []
    left: dict[str, str] = {}
    size = 0
    for path in sorted(run_dir.rglob("*")):
        name = path.relative_to(run_dir).as_posix()
        if path.is_dir() and not path.is_symlink():
            continue
        reason = reason_to_keep(path, name, run_dir, include)
        if reason is None:
            sent.append(name)
            size += path.stat().st_size
        elif not any(name.startswith(f"{folder}/") for folder in left):  # one line per folder
            left[name] = reason
    return ChosenFiles(sent, left, size)


def reason_to_keep(path: Path, name: str, run_dir: Path, include: Sequence[str]) -> str | None:
    """Why `name` is not sent, or None when it goes up."""
    parts = name.split("/")
    if any(part.startswith(".") for part in parts):
        return "a dotfile: never sent"
    if any((run_dir / "/".join(parts[: i + 1])).is_symlink() for i in range(len(parts))):
        return "a link: never sent"
    if parts[0].startswith("checkpoint-"):
        return "a checkpoint, for --resume"
    if matches_any(name, PUSHED_FILES) or matches_any(name, include):
        return None
    return "not a model repo file (--include PATTERN sends it)"


def matches_any(name: str, patterns: Sequence[str]) -> bool:
    """`name` matches a pattern of the same depth: '*.png' names top-level PNGs only."""
    return any(
        name.count("/") == pattern.count("/") and fnmatch.fnmatch(name, pattern)
        for pattern in patterns
    )


def describe_choice(chosen: ChosenFiles, dry_run: bool) -> str:
    verb = "Would upload" if dry_run else "Uploading"
    lines = [
        f"{verb} {len(chosen.sent)} files ({chosen.size / 1e6:.1f} MB): {', '.join(chosen.sent)}"
    ]
    if chosen.left:
        kept = "; ".join(f"{name} ({why})" for name, why in list(chosen.left.items())[:20])
        more = f"; and {len(chosen.left) - 20} more" if len(chosen.left) > 20 else ""
        lines.append(f"Left out {len(chosen.left)}: {kept}{more}")
    return "\n".join(lines)


def upload_operations(
    run_dir: Path, names: list[str], local: dict[str, str], repo_id: str
) -> list[CommitOperationAdd]:
    """The chosen files of the run; the quoting files with local paths replaced, and the card's
    usage snippet naming `repo_id`."""
    operations = []
    for name in names:
        path = run_dir / name
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
