"""The MLflow model registry: versions, their decision tags, the champion/challenger aliases, approval.

Order makes it crash-safe: the model is logged, registered and **verified** (its artifacts
downloaded, loaded and made to reproduce the pipeline's scores) before any tag says what
it is, and an alias moves last, under a promotion lock, after re-checking that the
champion is still the one this run was compared with. A process killed at any point, a
server gone or a full disk therefore leaves every alias on a complete version.

The lock is a registered model named ``<model>.promotion-lock``: creating a registered
model is an atomic compare-and-set on the tracking server (its name is a primary key), on
a remote server as on the embedded SQLite store. A lock whose holder died (same host, pid
gone) or that is older than ``LOCK_TTL_S`` is broken.
"""

from __future__ import annotations

import getpass
import os
import signal
import socket
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import mlflow
import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException

from features.errors import PromotionError, TransientIOError
from models.serving import ScoringPipeline
from pipelines.resources import MlflowResource

CHAMPION, CHALLENGER = "champion", "challenger"
LOCK_TTL_S = 300.0
LOCK_WAIT_S = LOCK_TTL_S + 30.0
#: TEST-ONLY fault injection: when this variable names a step of :func:`fault_point`, the process
#: SIGKILLs itself there (the crash-consistency tests use it). Never set it in production.
FAULT_ENV = "CREDITPIPE_TEST_KILL_AT"
FAULT_STEPS = ("before_tracking", "after_parent_run", "after_models_logged", "after_register", "after_verify",
               "after_tags", "in_lock", "after_alias")


#: TEST-ONLY: with ``CREDITPIPE_TEST_PAUSE_AT=<step>`` and ``CREDITPIPE_TEST_PAUSE_FILE=<path>`` the process
#: creates ``path`` at that step and waits (at most 300 s) until the test deletes it (to stop a server mid-run,
#: or to line two runs up on the promotion lock).
PAUSE_ENV, PAUSE_FILE_ENV = "CREDITPIPE_TEST_PAUSE_AT", "CREDITPIPE_TEST_PAUSE_FILE"


def fault_point(step: str) -> None:
    """Test-only crash hook: SIGKILL this process at ``step`` when ``CREDITPIPE_TEST_KILL_AT`` names it
    (or pause there, see ``PAUSE_ENV``). Does nothing unless a test sets those variables."""
    if os.environ.get(FAULT_ENV) == step:
        os.kill(os.getpid(), signal.SIGKILL)
    if os.environ.get(PAUSE_ENV) == step and os.environ.get(PAUSE_FILE_ENV):
        flag = os.environ[PAUSE_FILE_ENV]
        open(flag, "w").close()
        deadline = time.monotonic() + 300
        while os.path.exists(flag) and time.monotonic() < deadline:
            time.sleep(0.1)


def now_utc() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def current_user(tracking_uri: str) -> str:
    """Who acts: the authenticated MLflow user on a server with basic auth, else the OS user."""
    if tracking_uri.startswith(("http://", "https://")) and os.environ.get("MLFLOW_TRACKING_USERNAME"):
        return os.environ["MLFLOW_TRACKING_USERNAME"]
    return getpass.getuser()


@contextmanager
def registry_errors(res: MlflowResource, doing: str):
    """MLflow failures as one clear error: an unreachable server is transient, the rest is a promotion error."""
    try:
        yield
    except (PromotionError, TransientIOError):
        raise
    except (MlflowException, OSError) as exc:
        text = str(exc).splitlines()[0][:400] if str(exc) else type(exc).__name__
        uri = res.resolved_uri()
        if any(s in str(exc) for s in ("Max retries exceeded", "Connection refused", "ConnectionError", "Failed to establish")):
            raise TransientIOError(f"MLflow tracking server {uri} is unreachable while {doing}: {text}. No alias moved; "
                                   "the champion is unchanged. Start the server (or fix MLFLOW_TRACKING_URI) and re-run.") from None
        raise PromotionError(f"MLflow failed while {doing} ({uri}): {type(exc).__name__}: {text}. No alias moved; "
                             "the champion is unchanged.") from None


# --------------------------------------------------------------------------- reading the registry

@dataclass(frozen=True)
class ChampionModel:
    version: str
    model: object  # mlflow.pyfunc.PyFuncModel
    tags: dict


def aliased_version(client, model_name: str, alias: str) -> str | None:
    try:
        return str(client.get_model_version_by_alias(model_name, alias).version)
    except MlflowException as exc:
        if exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE", "NOT_FOUND"):
            return None
        raise


def load_champion_model(res: MlflowResource, model_name: str) -> ChampionModel | None:
    """The champion's version, tags and pyfunc model; None when there is no champion yet."""
    client = res.client()
    version = aliased_version(client, model_name, CHAMPION)
    if version is None:
        return None
    mv = client.get_model_version(model_name, version)
    return ChampionModel(version, mlflow.pyfunc.load_model(f"models:/{model_name}/{version}"), dict(mv.tags))


@dataclass(frozen=True)
class Champion:
    version: str
    oot_auc: float  # as measured by the run that registered it (its own out-of-time window)


def current_champion(res: MlflowResource, model_name: str) -> Champion | None:
    """The champion's version (and its registration-time OOT AUC); None when there is none."""
    client = res.client()
    version = aliased_version(client, model_name, CHAMPION)
    if version is None:
        return None
    tags = client.get_model_version(model_name, version).tags
    return Champion(version, float(tags.get("oot_auc", "nan")))


def load_champion(res: MlflowResource, model_name: str):
    """The champion as an MLflow pyfunc model."""
    res.client()
    return mlflow.pyfunc.load_model(f"models:/{model_name}@{CHAMPION}")


def unchanged_since(res: MlflowResource, model_name: str, fingerprint: str) -> str | None:
    """The newest verified version registered from the same input fingerprint, config and code."""
    client = res.client()
    try:
        versions = client.search_model_versions(f"name = '{model_name}' and tags.input_fingerprint = '{fingerprint}'")
    except MlflowException as exc:
        if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
            return None
        raise
    done = [int(v.version) for v in versions if v.tags.get("artifacts") == "verified"]
    return str(max(done)) if done else None


# --------------------------------------------------------------------------- the promotion lock

def process_holder() -> str:
    """``host:pid:time`` of this process, to tell later whether it died holding something."""
    return f"{socket.gethostname()}:{os.getpid()}:{time.time():.3f}"


def process_gone(holder: str) -> bool:
    """Whether the process named by :func:`process_holder` is known to be dead (same host, pid gone)."""
    host, pid, _ = (holder.split(":") + ["", "", ""])[:3]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _holder_dead(holder: str, acquired_at: float) -> bool:
    return time.time() - acquired_at > LOCK_TTL_S or process_gone(holder)


@contextmanager
def promotion_lock(client, model_name: str, wait_s: float = LOCK_WAIT_S):
    """Serialise alias moves of one registered model across processes and hosts."""
    name, holder = f"{model_name}.promotion-lock", process_holder()
    deadline = time.monotonic() + wait_s
    while True:
        try:
            client.create_registered_model(name, tags={"holder": holder, "acquired_at": f"{time.time():.3f}"},
                                           description=f"Transient lock: a run is moving the aliases of {model_name}.")
            break
        except MlflowException as exc:
            if exc.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
        try:
            held = client.get_registered_model(name)
            if _holder_dead(held.tags.get("holder", ""), float(held.tags.get("acquired_at", "0") or 0)):
                client.delete_registered_model(name)  # its holder died while holding it
                continue
        except MlflowException:
            continue  # released meanwhile
        if time.monotonic() > deadline:
            raise PromotionError(f"registered model {model_name}: another run holds the promotion lock "
                                 f"({held.tags.get('holder')}) for more than {wait_s:.0f} s; nothing was promoted")
        time.sleep(0.3)
    try:
        yield
    finally:
        try:
            client.delete_registered_model(name)
        except MlflowException:
            pass


# --------------------------------------------------------------------------- writing the registry

def register_version(client, model_name: str, model_uri: str, model_id: str, run_id: str, tags: dict[str, str]):
    """A new model version, tagged ``artifacts=unverified`` until :func:`verify_version` says otherwise."""
    try:
        client.create_registered_model(model_name, description="Credit-risk PD model; aliases champion and challenger "
                                                               "are set by the promotion policy.")
    except MlflowException as exc:
        if exc.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
    return client.create_model_version(model_name, model_uri, run_id=run_id, tags={**tags, "artifacts": "unverified"},
                                       model_id=model_id)


def verify_version(model_name: str, version: str, pipeline: ScoringPipeline, example: pd.DataFrame) -> None:
    """Download the version's artifacts, load them and reproduce the pipeline's scores on ``example`` exactly."""
    with tempfile.TemporaryDirectory(prefix="creditpipe-verify-") as tmp:
        local = mlflow.artifacts.download_artifacts(f"models:/{model_name}/{version}", dst_path=tmp)
        loaded = mlflow.pyfunc.load_model(local)
        got = loaded.predict(pipeline.input_frame(example))
    want = pipeline.predict(example)
    if not np.array_equal(got["pd"].to_numpy(dtype=float), want["pd"].to_numpy(dtype=float)):
        raise PromotionError(f"registered model {model_name} version {version}: the stored model does not reproduce the "
                             "pipeline's PDs on the example rows; its artifacts are incomplete or corrupt. No alias moved.")


def settle_aliases(client, model_name: str, version: str, decision: str, compared_with: str | None) -> tuple[str, str]:
    """Move ``champion`` (decision champion) or ``challenger`` (decision challenger) to ``version``, under the lock.

    Re-checks the champion just before moving it: if another run moved it since this run
    compared against it, this version becomes challenger instead. Returns the final
    (decision, reason) — reason empty unless the decision changed.
    """
    with promotion_lock(client, model_name):
        fault_point("in_lock")
        if decision == CHAMPION:
            now = aliased_version(client, model_name, CHAMPION)
            if now != compared_with:
                decision, why = CHALLENGER, (f"the champion changed during this run (compared with version {compared_with}, "
                                             f"now version {now}); re-run to compare with the new champion")
            else:
                client.set_registered_model_alias(model_name, CHAMPION, version)
                return CHAMPION, ""
        else:
            why = ""
        if decision == CHALLENGER:
            client.set_registered_model_alias(model_name, CHALLENGER, version)
        return decision, why


# --------------------------------------------------------------------------- four-eyes approval

@dataclass(frozen=True)
class Approval:
    model_name: str
    version: str
    approved: bool
    user: str
    at: str
    reason: str
    champion_version: str | None


def approve(res: MlflowResource, model_name: str, version: str, reject: bool = False, reason: str = "") -> Approval:
    """Approve (moves ``champion``) or reject a version waiting for four-eyes approval; who, when and why as tags."""
    client = res.client()
    user = current_user(res.resolved_uri())
    with registry_errors(res, f"approving version {version} of {model_name}"):
        try:
            mv = client.get_model_version(model_name, version)
        except MlflowException as exc:
            raise PromotionError(f"registered model {model_name} has no version {version}: "
                                 f"{str(exc).splitlines()[0][:200]}") from None
        tags = dict(mv.tags)
        if tags.get("approval") != "pending":
            raise PromotionError(f"version {version} of {model_name} is not waiting for approval "
                                 f"(approval: {tags.get('approval', 'not required')}, decision: {tags.get('decision', 'none')})")
        if user == tags.get("run_by"):
            raise PromotionError(f"four-eyes: {user} ran the job that trained version {version} of {model_name} and may "
                                 "not approve or reject it; another user must")
        if reject and not reason.strip():
            raise PromotionError("a rejection needs a reason: --reason TEXT")
        at = now_utc()
        parent = tags.get("mlflow_parent_run_id")
        if reject:
            record = {"approval": "rejected", "rejected_by": user, "rejected_at": at, "rejection_reason": reason,
                      "decision": "rejected"}
        else:
            record = {"approval": "approved", "approved_by": user, "approved_at": at, "approval_reason": reason}
            with promotion_lock(client, model_name):
                now = aliased_version(client, model_name, CHAMPION)
                if now != (tags.get("compared_with_champion") or None):
                    raise PromotionError(
                        f"the champion of {model_name} changed since version {version} was compared with it (compared with "
                        f"{tags.get('compared_with_champion') or 'no champion'}, now version {now}); re-run the job so the "
                        "new model is compared with the current champion")
                for k, v in record.items():
                    client.set_model_version_tag(model_name, version, k, v)
                client.set_model_version_tag(model_name, version, "decision", CHAMPION)
                client.set_registered_model_alias(model_name, CHAMPION, version)
        if reject:
            for k, v in record.items():
                client.set_model_version_tag(model_name, version, k, v)
        if parent:  # the run's copy of the record; the version's tags above are the record itself
            try:
                for k, v in {**record, "decision": "rejected" if reject else CHAMPION}.items():
                    client.set_tag(parent, k, v)
            except MlflowException as exc:
                if exc.error_code != "PERMISSION_DENIED":
                    raise
        champion = aliased_version(client, model_name, CHAMPION)
    return Approval(model_name, version, not reject, user, at, reason, champion)
