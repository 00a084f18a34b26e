"""The LangGraph workflow that writes a dataset's script with a model (docs/architecture.md §7):

    init → generate → validate → dry_run → (repair → validate → dry_run)* → save → finalize

A reply that breaks the code policy or fails its dry run goes back to the model with the error, at most
MAX_REPAIRS times. When the model cannot be reached or never gives a usable script, the template's script is
saved instead, with the reason: an outage never stops the pipeline. Every node's outcome, duration and error go
into the JSON log saved beside the script.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict

from etl_assets.config.models import DatasetConfig
from etl_assets.profiling.model import Profile
from etl_assets.scriptgen import prompt
from etl_assets.scriptgen.dry_run import DryRun, dry_run, expected_columns
from etl_assets.scriptgen.llm import LLM_GENERATOR_VERSION, Message, ModelUnavailable, ScriptModel
from etl_assets.scriptgen.policy import check_policy, describe
from etl_assets.scriptgen.store import SavedScript, save_script, update_log
from etl_assets.scriptgen.template import GENERATOR_VERSION, render_template_script

MAX_REPAIRS = 2


@dataclass(frozen=True)
class ScriptRequest:
    """What the workflow writes a script for: the dataset, one window's profile and upload, and where to save."""

    dataset: DatasetConfig
    profile: Profile
    upload: Path
    scripts_root: Path
    inputs_hash: str
    # the model, built only when the workflow first calls it (Bedrock credentials are decrypted then)
    model: Callable[[], ScriptModel]
    # False: run every node but save (`etl-assets scripts generate --dry-run`)
    save: bool = True


class ScriptState(TypedDict, total=False):
    workflow_id: str
    conversation: list[Message]
    reply: str
    code: str
    problem: str | None
    repairs: int
    model_name: str
    dry_run: dict[str, Any]
    fallback_reason: str | None
    saved: SavedScript | None
    nodes: list[dict[str, Any]]


@dataclass(frozen=True)
class ScriptOutcome:
    """How the workflow ended: the script (None on a dry run), the generator that wrote it, and its log."""

    workflow_id: str
    saved: SavedScript | None
    generator: str
    code: str
    fallback_reason: str | None
    repairs: int
    dry_run: dict[str, Any] | None
    nodes: list[dict[str, Any]]

    @property
    def summary(self) -> str:
        where = f"saved to {self.saved.path}" if self.saved else "not saved (dry run)"
        return f"{self.generator}, after {self.repairs} repair(s); {where}"


def write_script(request: ScriptRequest) -> ScriptOutcome:
    """Run the workflow for one dataset and schema."""
    state = build_graph(request).invoke({"repairs": 0, "nodes": []})
    reason = state.get("fallback_reason")
    generator = f"template (fallback: {reason})" if reason else f"llm {state.get('model_name', '')}".strip()
    return ScriptOutcome(
        state["workflow_id"], state.get("saved"), generator, state["code"], reason, state.get("repairs", 0),
        state.get("dry_run"), state["nodes"],
    )  # fmt: skip


def build_graph(request: ScriptRequest):
    """The compiled StateGraph for `request`; `.get_graph()` shows its nodes and edges."""
    from langgraph.graph import END, START, StateGraph

    nodes = _Nodes(request)
    graph = StateGraph(ScriptState)
    for name in ("init", "generate", "validate", "dry_run", "repair", "fallback", "save", "finalize"):
        graph.add_node(name, _logged(name, getattr(nodes, name)))
    graph.add_edge(START, "init")
    graph.add_edge("init", "generate")
    graph.add_conditional_edges("generate", _after_reply, ["validate", "fallback"])
    graph.add_conditional_edges("validate", _after_check("dry_run"), ["dry_run", "repair", "fallback"])
    graph.add_conditional_edges("dry_run", _after_check("save"), ["save", "repair", "fallback"])
    graph.add_conditional_edges("repair", _after_reply, ["validate", "fallback"])
    graph.add_edge("fallback", "save")
    graph.add_edge("save", "finalize")
    graph.add_edge("finalize", END)
    return graph.compile()


def _after_reply(state: ScriptState) -> str:
    return "fallback" if state.get("fallback_reason") else "validate"


def _after_check(next_node: str) -> Callable[[ScriptState], str]:
    def route(state: ScriptState) -> str:
        if state.get("problem") is None:
            return next_node
        return "repair" if state.get("repairs", 0) < MAX_REPAIRS else "fallback"

    return route


def _logged(name: str, node: Callable[[ScriptState], dict]) -> Callable[[ScriptState], dict]:
    """The node, its outcome, duration and error appended to the state's `nodes` log."""

    def run(state: ScriptState) -> dict:
        started = time.perf_counter()
        update = node(state)
        entry = {
            "node": name,
            "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
            "seconds": round(time.perf_counter() - started, 3),
            "outcome": update.pop("_outcome", "ok"),
            "error": update.get("problem") or (update.get("fallback_reason") if name in ("generate", "repair", "fallback") else None),
        }
        return {**update, "nodes": [*state.get("nodes", []), entry]}

    return run


class _Nodes:
    def __init__(self, request: ScriptRequest):
        self.request = request
        self._model: ScriptModel | None = None

    def init(self, state: ScriptState) -> dict:
        conversation = prompt.first_messages(self.request.dataset, self.request.profile)
        return {"workflow_id": uuid.uuid4().hex, "conversation": conversation, "_outcome": f"prompt of {len(conversation[-1].text)} characters"}

    def generate(self, state: ScriptState) -> dict:
        return self._ask(state["conversation"], state)

    def repair(self, state: ScriptState) -> dict:
        conversation = prompt.repair_messages(state["conversation"], state["reply"], state["problem"] or "")
        return {**self._ask(conversation, state), "conversation": conversation, "repairs": state.get("repairs", 0) + 1}

    def validate(self, state: ScriptState) -> dict:
        violations = check_policy(state["code"])
        if violations:
            return {"problem": "The code policy refused it:\n" + describe(violations), "_outcome": f"{len(violations)} violation(s)"}
        return {"problem": None, "_outcome": "allowed"}

    def dry_run(self, state: ScriptState) -> dict:
        request = self.request
        expected = expected_columns(request.dataset.transform, request.profile.inferred_types())
        # the home holds the vault and every dataset's files: the script sees none of them
        result: DryRun = dry_run(state["code"], request.upload, expected, request.dataset.sandbox, hidden=[request.scripts_root.parent])
        summary = {"rows_in": result.rows_in, "rows_out": result.rows_out, "passed": result.passed, "problem": result.problem}
        return {"problem": result.problem, "dry_run": summary, "_outcome": "passed" if result.passed else "failed"}

    def fallback(self, state: ScriptState) -> dict:
        reason = state.get("fallback_reason") or _last_problem(state)
        dataset = self.request.dataset
        code = render_template_script(dataset.name, dataset.transform, self.request.profile.inferred_types())
        return {"code": code, "fallback_reason": reason, "_outcome": "template"}

    def save(self, state: ScriptState) -> dict:
        if not self.request.save:
            return {"saved": None, "_outcome": "skipped (dry run)"}
        reason = state.get("fallback_reason")
        saved = save_script(
            self.request.scripts_root, self.request.dataset.name, state["code"], inputs_hash=self.request.inputs_hash,
            generator="template" if reason else "llm", generator_version=GENERATOR_VERSION if reason else LLM_GENERATOR_VERSION,
            fallback_reason=reason, model=None if reason else state.get("model_name"),
        )  # fmt: skip
        return {"saved": saved, "_outcome": str(saved.path.name)}

    def finalize(self, state: ScriptState) -> dict:
        saved = state.get("saved")
        if saved is not None:
            # the node log joins the script's own log; this node's entry is added by _logged after it returns
            entry = {"node": "finalize", "seconds": 0.0, "outcome": "ok", "error": None}
            save_workflow_log(saved, state["workflow_id"], [*state.get("nodes", []), entry], state.get("dry_run"))
        return {"_outcome": "ok"}

    def _ask(self, conversation: list[Message], state: ScriptState) -> dict:
        try:
            model = self._model = self._model or self.request.model()
            reply = model.reply(conversation)
        except ModelUnavailable as exc:
            return {"fallback_reason": str(exc), "_outcome": "unavailable"}
        return {"reply": reply, "code": prompt.code_of(reply), "model_name": model.name, "problem": None, "_outcome": f"{len(reply)} characters"}


def _last_problem(state: ScriptState) -> str:
    """The fallback's reason: the repairs made and the first line of what was still wrong."""
    problem = (state.get("problem") or "").splitlines()
    first = problem[1] if len(problem) > 1 and problem[0].endswith(":") else (problem[0] if problem else "unknown")
    return f"no usable script after {state.get('repairs', 0)} repairs ({first.strip().rstrip('.')})"


def save_workflow_log(saved: SavedScript, workflow_id: str, nodes: list[dict[str, Any]], dry_run_summary: dict | None) -> None:
    """Add the workflow's id, node log and dry run to the JSON log beside the script."""
    update_log(saved, {"workflow_id": workflow_id, "nodes": nodes, "dry_run": dry_run_summary})
