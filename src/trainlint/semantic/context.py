"""FileContext: the parsed file and its facts, each computed on first use and then shared."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Dict, List, Optional, Tuple, Union

import libcst as cst
from libcst.metadata import CodeRange

from trainlint.core.lines import split_lines

from trainlint.semantic.criteria import CriteriaTable
from trainlint.semantic.epoch_figures import EpochFigures
from trainlint.semantic.forward_data import ForwardData
from trainlint.semantic.batching import LoaderTable
from trainlint.semantic.imbalance import ImbalanceFacts
from trainlint.semantic.imports import ImportTable
from trainlint.semantic.index import ModuleIndex
from trainlint.semantic.reports import ReportFlow
from trainlint.semantic.selection import SelectionFacts
from trainlint.semantic.loops import LoopTable
from trainlint.semantic.models import ModelTable
from trainlint.semantic.modes import ModeAnalysis
from trainlint.semantic.roles import DataRoles
from trainlint.semantic.targets import TargetEvidence
from trainlint.core.config import Config
from trainlint.core.diagnostics import Edit

if TYPE_CHECKING:  # pragma: no cover
    from trainlint.semantic.pieces import PieceRecord
    from trainlint.semantic.project_index import HelperLookup
    from trainlint.semantic.augmentation import AugmentationFacts
    from trainlint.semantic.data_uses import DataUses
    from trainlint.semantic.dataflow import DataFlow
    from trainlint.semantic.leakage import LeakageFacts
    from trainlint.semantic.loss_weighting import LossWeightingFacts
    from trainlint.semantic.overlap import OverlapFacts
    from trainlint.semantic.refits import RefitFacts
    from trainlint.semantic.resampling import ResamplingFacts
    from trainlint.semantic.splits import SplitFacts
    from trainlint.semantic.stratification import StratificationFacts


class FileContext:
    # The first line of each notebook cell (empty for a script): Jupyter displays the value
    # of a cell's last expression, which is a report like `print`.
    cell_starts: Tuple[int, ...] = ()
    # Summaries of functions of other project modules (`run.summaries.ProjectHelpers`), or
    # None: calls leaving the file are then unknown.
    project: Optional["HelperLookup"] = None
    # An editor's last index of this document (semantic.pieces): the records of the
    # top-level statements an edit did not touch are reused; and whether to keep them.
    previous_pieces: Optional[Dict[int, "PieceRecord"]] = None
    keep_pieces = False

    def __init__(self, text: str, path: str, module: cst.Module, config: Config) -> None:
        self.text = text
        self.path = path
        self.module = module
        self.config = config

    def release(self) -> None:
        """Drop the facts once the file is linted. Facts refer back to the context that holds
        them, so the context, its facts and the whole tree form a reference cycle that only
        the cyclic collector would free, tracing every node once more (tens of
        milliseconds for a 1,000-line script). Without the facts, reference counting frees
        the tree at once."""
        self.__dict__.clear()

    @staticmethod
    def line_label(line: int) -> str:
        """How a message names a line of this text (a notebook replaces it: "cell 4, line 2")."""
        return f"line {line}"

    @cached_property
    def index(self) -> ModuleIndex:
        return ModuleIndex(self.module, self.text, self.previous_pieces, self.keep_pieces)

    @cached_property
    def imports(self) -> ImportTable:
        return ImportTable(self.index)

    @cached_property
    def dataflow(self) -> "DataFlow":
        return self.splits.flow

    @cached_property
    def splits(self) -> "SplitFacts":
        from trainlint.semantic.splits import split_data_flow

        return split_data_flow(self.module, self.index, self.imports, self.roles.words)

    @cached_property
    def leakage(self) -> "LeakageFacts":
        from trainlint.semantic.leakage import LeakageFacts

        return LeakageFacts(self)

    @cached_property
    def targets(self) -> TargetEvidence:
        return TargetEvidence(self.module, self.index, self.imports, self.dataflow)

    @cached_property
    def criteria(self) -> CriteriaTable:
        return CriteriaTable(self.module, self.index, self.imports)

    @cached_property
    def imbalance(self) -> ImbalanceFacts:
        return ImbalanceFacts(self.module, self.index, self.imports, self.criteria, self.roles.words)

    @cached_property
    def reports(self) -> ReportFlow:
        """Where figures are shown: report calls, logger writes, a notebook cell's last
        expression, returned values."""
        return ReportFlow(self.index, self.cell_starts)

    @cached_property
    def selection(self) -> SelectionFacts:
        return SelectionFacts(self.index, self.imports, self.roles, self.reports)

    @cached_property
    def augmentation(self) -> "AugmentationFacts":
        from trainlint.semantic.augmentation import AugmentationFacts

        return AugmentationFacts(self)

    @cached_property
    def data_uses(self) -> "DataUses":
        from trainlint.semantic.data_uses import DataUses

        return DataUses(self)

    @cached_property
    def overlap(self) -> "OverlapFacts":
        from trainlint.semantic.overlap import OverlapFacts

        return OverlapFacts(self)

    @cached_property
    def refits(self) -> "RefitFacts":
        from trainlint.semantic.refits import RefitFacts

        return RefitFacts(self)

    @cached_property
    def stratification(self) -> "StratificationFacts":
        from trainlint.semantic.stratification import StratificationFacts

        return StratificationFacts(self)

    @cached_property
    def resampling(self) -> "ResamplingFacts":
        from trainlint.semantic.resampling import ResamplingFacts

        return ResamplingFacts(self)

    @cached_property
    def loss_weighting(self) -> "LossWeightingFacts":
        from trainlint.semantic.loss_weighting import LossWeightingFacts

        return LossWeightingFacts(self)

    @cached_property
    def loaders(self) -> LoaderTable:
        return LoaderTable(self.index, self.imports)

    @cached_property
    def models(self) -> ModelTable:
        return ModelTable(self.index, self.imports, self.project)

    @cached_property
    def roles(self) -> DataRoles:
        return DataRoles(self)

    @cached_property
    def loops(self) -> LoopTable:
        return LoopTable(self.module, self.index, self.imports, self.models, self.roles)

    @cached_property
    def modes(self) -> ModeAnalysis:
        return ModeAnalysis(self)

    @cached_property
    def forward_data(self) -> ForwardData:
        return ForwardData(self)

    @cached_property
    def epoch_figures(self) -> EpochFigures:
        return EpochFigures(self.module, self.index, self.loops, self.criteria, self.loaders)

    # -- positions, computed only when something is reported ------------------------------

    def position(self, node: cst.CSTNode) -> CodeRange:
        # From token indices the shared walk noted; no PositionProvider pass (analysis/positions.py).
        return self.index.positions[node]

    def statement_lines(self, node: cst.CSTNode) -> Tuple[int, int]:
        """First and last line of the statement around `node` (for `# noqa`)."""
        statement = self.index.statement_of(node)
        if isinstance(statement, cst.BaseCompoundStatement):
            # Only the header belongs to the statement here, not its body (a match: its cases).
            body = statement.cases[0] if type(statement) is cst.Match else statement.body  # type: ignore[attr-defined]
            return self.position(statement).start.line, self.position(body).start.line
        code_range = self.position(statement)
        return code_range.start.line, code_range.end.line

    # -- fixes: text edits built from nodes ------------------------------------------------

    def replace_edit(self, node: cst.CSTNode, replacement: Union[cst.CSTNode, str]) -> Edit:
        """Replace the text of `node` with a new node's code (libcst keeps the formatting of
        every unchanged child) or with literal text."""
        code_range = self.position(node)
        text = replacement if isinstance(replacement, str) else self.module.code_for_node(replacement)
        return Edit(code_range.start.line, code_range.start.column + 1,
                    code_range.end.line, code_range.end.column + 1, text)

    def insert_before_edit(self, node: cst.CSTNode, text: str) -> Edit:
        start = self.position(node).start
        return Edit(start.line, start.column + 1, start.line, start.column + 1, text)

    def insert_after_edit(self, node: cst.CSTNode, text: str) -> Edit:
        end = self.position(node).end
        return Edit(end.line, end.column + 1, end.line, end.column + 1, text)

    @cached_property
    def lines(self) -> List[str]:
        """The file's lines as libcst counts them, without their line breaks (split once:
        fixes ask for them per finding)."""
        return split_lines(self.text)

    @cached_property
    def lines_with_ends(self) -> List[str]:
        return split_lines(self.text, keepends=True)

    def indentation_of(self, node: cst.CSTNode) -> str:
        """The leading whitespace of the line where `node` starts."""
        line = self.position(node).start.line
        lines = self.lines
        text = lines[line - 1] if line <= len(lines) else ""
        # a form feed in it only resets the column (as in CPython): not for copying
        return text[: len(text) - len(text.lstrip())].replace("\x0c", "")

    def code(self, node: Optional[cst.CSTNode]) -> str:
        return self.module.code_for_node(node) if node is not None else ""
