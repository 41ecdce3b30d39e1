"""The RUN of `ftk predict` / `ftk evaluate`: a local folder, or a Hub model repo id.

A repo is downloaded with huggingface_hub's `snapshot_download` into the Hugging Face cache
(HF_HOME, HF_ENDPOINT, HF_TOKEN or `hf auth login`, HF_HUB_OFFLINE: the cached copy) and then
read exactly like a local folder: an `ftk push`ed run has run_config.yaml, a plain transformers
checkpoint does not. Each way a download can fail becomes one paragraph naming the repo.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from toolkit.core.errors import UserError
from toolkit.outputs.hub import transport_error

# Only what inference reads: weights, config, tokenizer or image-processor files (JSON, vocab
# .txt, sentencepiece .model), the ftk recipe and the card. Not checkpoints, plots, pickled or
# ONNX weights; and only the repo's top level, the folder from_pretrained reads.
ALLOW_PATTERNS = ["*.safetensors", "*.json", "*.txt", "*.model", "run_config.yaml", "README.md"]
IGNORE_PATTERNS = ["*/*"]
LOGIN_HELP = "set the HF_TOKEN environment variable or run `hf auth login` (a read token will do)"


@dataclass
class Located:
    path: Path  # a local folder: the one given, or the downloaded snapshot in the cache
    name: str  # how messages name it: 'runs/x', or Hub repo 'me/x'


def locate_run(run: str | Path, revision: str | None = None) -> Located:
    """The local folder behind `run`: the folder itself when it exists, else the snapshot of
    the Hub model repo of that id (at `revision`), downloaded or found in the cache."""
    path = Path(run)
    if path.exists():
        if revision is not None:
            raise UserError(
                f"--revision picks a version of a Hub repo, but '{run}' is a local folder. "
                f"Leave --revision out, or give a Hub repo id (NAMESPACE/NAME)."
            )
        return Located(path, f"'{path}'")
    repo_id = str(run)
    if not is_repo_id(repo_id):
        raise UserError(
            f"'{run}' does not exist, and it is not a Hub repo id (NAMESPACE/NAME) either. "
            f"Give the output_dir of a finished `ftk train` run, a transformers checkpoint "
            f"folder, or a Hub model repo id such as me/bbc-minilm."
        )
    name = f"Hub repo '{repo_id}'" + (f" at revision '{revision}'" if revision else "")
    folder = download(repo_id, revision)
    check_downloaded(folder, name)
    return Located(folder, name)


def is_repo_id(text: str) -> bool:
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    try:
        validate_repo_id(text)
    except HFValidationError:
        return False
    return True


def download(repo_id: str, revision: str | None) -> Path:
    from huggingface_hub import snapshot_download

    with download_errors(repo_id, revision):
        folder = snapshot_download(
            repo_id,
            revision=revision,
            allow_patterns=ALLOW_PATTERNS,
            ignore_patterns=IGNORE_PATTERNS,
        )
    return Path(folder)


def check_downloaded(folder: Path, name: str) -> None:
    """A repo with no model in it, or with pickled weights only, is named here (by its id, not
    its cache folder); a model without a classification head is named by load_run."""
    if not (folder / "config.json").is_file():
        raise UserError(
            f"{name} holds no config.json at its top level, so it is not a transformers model "
            f"(a data set, or a model of another library?). Give a model repo pushed by "
            f"`ftk push`, or a transformers classifier."
        )
    if not any(folder.glob("model*.safetensors")):
        raise UserError(
            f"{name} has no safetensors weights (model.safetensors). ftk loads only "
            f"safetensors, which cannot run code when loaded; a repo with pytorch_model.bin "
            f"only must be converted first (load it where you trust it, then save_pretrained)."
        )


@contextlib.contextmanager
def download_errors(repo_id: str, revision: str | None) -> Iterator[None]:
    """The client's exceptions -> one paragraph each, naming the repo and what to do."""
    from huggingface_hub import constants, get_token
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    endpoint, page = constants.ENDPOINT, f"{constants.ENDPOINT}/{repo_id}"
    try:
        yield
    except GatedRepoError:
        raise UserError(
            f"Hub repo '{repo_id}' is gated: its files need an account that has accepted its "
            f"conditions. Ask for access on {page}, then {LOGIN_HELP} with that account."
        ) from None
    except RepositoryNotFoundError:
        raise UserError(not_found_message(repo_id, endpoint, bool(get_token()))) from None
    except RevisionNotFoundError:
        raise UserError(
            f"Hub repo '{repo_id}' has no revision '{revision}' (a branch, tag or commit id). "
            f"Check --revision against the repo's history on {page}, or leave it out for the "
            f"main branch."
        ) from None
    except LocalEntryNotFoundError as exc:
        raise UserError(not_cached_message(repo_id, revision, exc, endpoint)) from None
    except HfHubHTTPError as exc:
        status = exc.response.status_code if exc.response is not None else None
        if status == 401:  # a token was sent and refused
            raise UserError(
                f"The Hub at {endpoint} rejected the token (HTTP 401: invalid or expired) while "
                f"reading '{repo_id}'. Fix HF_TOKEN or run `hf auth login` again; a public repo "
                f"needs no token (unset HF_TOKEN)."
            ) from None
        raise UserError(
            f"The Hub answered HTTP {status} while downloading '{repo_id}': {first_line(exc)}"
        ) from None
    except (transport_error(), ConnectionError) as exc:
        if isinstance(exc, OfflineModeIsEnabled):
            raise UserError(not_cached_message(repo_id, revision, exc, endpoint)) from None
        raise UserError(
            f"Could not reach the Hub at {endpoint} to download '{repo_id}' "
            f"({type(exc).__name__}). Check the connection, proxy settings and HF_ENDPOINT."
        ) from None


def not_found_message(repo_id: str, endpoint: str, has_token: bool) -> str:
    access = (
        "If it is private, the token in use (HF_TOKEN or `hf auth login`) has no access to it."
        if has_token
        else f"If it is private or gated, log in: {LOGIN_HELP}."
    )
    return (
        f"'{repo_id}' is neither a folder here nor a model repo on the Hub at {endpoint}. "
        f"Check the path (relative paths are read from the directory you run ftk in) or the "
        f"repo id (NAMESPACE/NAME). {access}"
    )


def not_cached_message(repo_id: str, revision: str | None, exc: Exception, endpoint: str) -> str:
    """The Hub could not be asked (offline mode, no connection, Hub error) and the cache has
    no complete copy of the repo at that revision."""
    from huggingface_hub import constants

    at = f" at revision '{revision}'" if revision else ""
    # IncompleteSnapshotError (huggingface_hub 2.x; 1.x has no such class): some files cached
    cached = "is only partly" if type(exc).__name__ == "IncompleteSnapshotError" else "is not"
    if constants.is_offline_mode():
        return (
            f"'{repo_id}' is not a folder here, and Hub repo '{repo_id}'{at} {cached} in the "
            f"Hugging Face cache ({constants.HF_HUB_CACHE}) while HF_HUB_OFFLINE is set, so "
            f"it cannot be downloaded. Check the path, or unset HF_HUB_OFFLINE (or set it to "
            f"0) to download it once; later runs can then work offline."
        )
    cause = exc.__cause__ or exc
    return (
        f"Could not download Hub repo '{repo_id}'{at} from {endpoint} "
        f"({type(cause).__name__}: {first_line(cause)}), and it {cached} in the Hugging Face "
        f"cache. Check the connection, proxy settings and HF_ENDPOINT, then try again."
    )


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
