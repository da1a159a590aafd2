"""Notebooks: reading, IPython syntax, cell mapping, malformed files, and every script
fixture turned into a notebook giving the same findings in cell coordinates."""

from __future__ import annotations

import json
import sys
import re
import time
from collections import Counter
from pathlib import Path

import pytest

from conftest import FIXTURES
from notebook_fixtures import notebook_code_lines, script_chunks, script_to_notebook
from test_fixtures import EXPECT, FINDING, fixture_files

from trainlint.core.config import Config
from trainlint.run.discovery import discover
from trainlint.run.engine import lint_file, lint_source
from trainlint.run.ipython_syntax import blank_ipython
from trainlint.run.notebook import join_cells, read_notebook, NotebookError
from trainlint.report.text import format_text

IMPORTS = "import pandas as pd\nfrom sklearn.model_selection import train_test_split\n"
SPLIT = "X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2)\n"
CLASSIFIER = "from sklearn.linear_model import LogisticRegression\nLogisticRegression().fit(X_train, y_train)\n"


def code(source, outputs=None):
    return {"cell_type": "code", "execution_count": 1, "metadata": {}, "outputs": outputs or [],
            "source": source.splitlines(keepends=True)}


def markdown(text):
    return {"cell_type": "markdown", "metadata": {}, "source": [text]}


def notebook(*cells, **top):
    data = {"cells": list(cells), "metadata": {"language_info": {"name": "python"}},
            "nbformat": 4, "nbformat_minor": 5}
    data.update(top)
    return json.dumps(data, indent=1)


def found(text, config=None):
    return [(d.cell, d.line, d.col, d.code) for d in lint_source(text, "analysis.ipynb", config)]


# -- cells form one module ---------------------------------------------------------------

def test_evidence_in_another_cell_is_seen_and_positions_are_cell_relative():
    text = notebook(
        markdown("# Churn"),
        code(IMPORTS + "df = pd.read_csv('churn.csv')\nX, y = df.drop(columns='churn'), df.churn\n"),
        markdown("## Split"),
        code("\n" + SPLIT),
        code(CLASSIFIER),
    )
    assert found(text) == [(4, 2, 36, "TL301")]


def test_text_output_names_the_cell():
    text = notebook(code(IMPORTS), code(SPLIT + CLASSIFIER))
    output = format_text(lint_source(text, "nb/churn.ipynb"))
    assert output.startswith("nb/churn.ipynb:cell 2:1:36: TL301 ")


def test_messages_name_lines_by_cell():
    text = notebook(
        code("from tensorflow import keras\n"),
        code('keep = keras.callbacks.ModelCheckpoint("m.keras", monitor="val_accuracy", save_best_only=True)\n'
             "history = model.fit(x_train, y_train, validation_data=(x_val, y_val), callbacks=[keep])\n"),
        markdown("Result"),
        code('print("accuracy:", max(history.history["val_accuracy"]))\n'),
    )
    [diagnostic] = [d for d in lint_source(text, "x.ipynb") if d.code == "TL402"]
    assert "(cell 4, line 1)" in diagnostic.message


def test_string_source_and_nbformat3_worksheets():
    cells = [{"cell_type": "heading", "level": 1, "source": "Title"},
             {"cell_type": "code", "input": IMPORTS, "outputs": [], "language": "python"},
             {"cell_type": "code", "input": SPLIT + CLASSIFIER, "outputs": []}]
    text = json.dumps({"worksheets": [{"cells": cells}], "metadata": {}, "nbformat": 3})
    assert found(text) == [(3, 1, 36, "TL301")]
    one_string = notebook(code(""), {"cell_type": "code", "source": IMPORTS + SPLIT + CLASSIFIER})
    assert found(one_string) == [(2, 3, 36, "TL301")]


def test_markdown_raw_outputs_and_attachments_are_ignored():
    noise = "train_test_split(X, y)  # classifier LogisticRegression().fit(X, y)"
    text = notebook(
        markdown(noise),
        {"cell_type": "raw", "metadata": {}, "source": [noise]},
        code(IMPORTS, outputs=[{"output_type": "stream", "name": "stdout", "text": [noise]}]),
        {"cell_type": "markdown", "metadata": {}, "source": ["![x](attachment:x.png)"],
         "attachments": {"x.png": {"image/png": "iVBORw0KGgo="}}},
    )
    assert found(text) == []


def test_other_kernel_languages_are_not_linted():
    text = notebook(code("library(caret)\n" + SPLIT + CLASSIFIER),
                    metadata={"kernelspec": {"language": "R", "name": "ir"}, "language_info": {"name": "R"}})
    assert found(text) == []


# -- IPython syntax ----------------------------------------------------------------------

@pytest.mark.parametrize("line", [
    "%matplotlib inline", "!pip install -q scikit-learn", "!!ls", "?train_test_split",
    "train_test_split?", "pd.read_csv??", "df.groupby('a').mean()?", "/print 1 2",
    ",print a b", ";print a b", "%load_ext autoreload", "%cd ~/data",
])
def test_ipython_lines_do_not_break_the_analysis(line):
    text = notebook(code(IMPORTS + line + "\n"), code("\n" + line + "\n" + SPLIT), code(CLASSIFIER))
    assert found(text) == [(2, 3, 36, "TL301")]


def test_magics_inside_blocks_and_continued_lines():
    cell = (
        "for fold in range(3):\n"
        "    !echo fold {fold}\n"
        "files = !ls data/*.csv\n"
        "listing = %sx ls \\\n"
        "   -la\n"
        "%time X_train, X_test, y_train, y_test = train_test_split(X, y)\n"
    )
    text = notebook(code(IMPORTS), code(cell), code(CLASSIFIER))
    # The timed statement is analysed, at its real column.
    assert found(text) == [(2, 6, 42, "TL301")]


def test_timeit_options_and_multiline_statement():
    cell = "%timeit -n 1 -r 1 X_train, X_test, y_train, y_test = train_test_split(\n    X, y, test_size=0.2)\n"
    text = notebook(code(IMPORTS), code(cell), code(CLASSIFIER))
    assert found(text) == [(2, 1, 54, "TL301")]


def test_python_cell_magics_keep_their_body():
    text = notebook(code(IMPORTS), code("%%time\n" + SPLIT), code("%%capture log\n" + CLASSIFIER))
    assert found(text) == [(2, 2, 36, "TL301")]


@pytest.mark.parametrize("magic", ["%%bash", "%%writefile train.py", "%%sql", "%%html", "%%script python3"])
def test_other_cell_magics_are_blanked(magic):
    # Not Python run in this namespace: neither a finding nor a syntax error from its body.
    text = notebook(code(IMPORTS + CLASSIFIER), code(magic + "\n" + SPLIT + "if [ -f x ]; then echo; fi\n"))
    assert found(text) == []


def test_indented_cell_is_dedented_like_ipython_does():
    text = notebook(code(IMPORTS), code("    " + SPLIT + "    print(X_train.shape)\n"), code(CLASSIFIER))
    assert found(text) == [(2, 1, 40, "TL301")]


def test_magic_text_inside_strings_is_left_alone():
    blanked = blank_ipython('query = """\n%not a magic\n!not a shell\n"""\nprint(f"{x}?")\n')
    assert blanked.text == 'query = """\n%not a magic\n!not a shell\n"""\nprint(f"{x}?")\n'


def test_blanking_keeps_the_line_count():
    source = "%%time\n!ls\nx = 1\n%time y = 2\n"
    assert blank_ipython(source).text.count("\n") == source.count("\n")
    bash = "%%bash\nls\necho\n"
    assert blank_ipython(bash).text.count("\n") == bash.count("\n")


# -- syntax errors and malformed notebooks -----------------------------------------------

def test_a_cell_that_does_not_parse_is_reported_and_the_others_still_analysed():
    text = notebook(
        code(IMPORTS), markdown("notes"), code("def broken(:\n    pass\n"),
        code(SPLIT), code(CLASSIFIER), code("print('unterminated)\n"),
    )
    # CPython places the error; before 3.10 an unterminated string is reported at the end of
    # its line rather than at its quote
    unterminated = 7 if sys.version_info >= (3, 10) else 21
    assert found(text) == [(3, 1, 12, "TL001"), (4, 1, 36, "TL301"), (6, 1, unterminated, "TL001")]


def test_a_cell_continuing_another_is_a_syntax_error_of_its_own():
    text = notebook(code(IMPORTS + "if True:\n    pass\n"), code("else:\n    pass\n"), code(SPLIT + CLASSIFIER))
    assert found(text) == [(2, 1, 1, "TL001"), (3, 1, 36, "TL301")]


@pytest.mark.parametrize("text, message", [
    ("{not json", "invalid JSON at line 1 column 2"),
    ("[1, 2]", "not an object"),
    ('{"nbformat": 4, "metadata": {}}', "no `cells` list"),
    ("", "invalid JSON"),
])
def test_malformed_notebooks_get_one_clear_diagnostic(text, message):
    diagnostics = lint_source(text, "broken.ipynb")
    assert [(d.code, d.cell, d.line) for d in diagnostics] == [("TL002", None, 1)]
    assert message in diagnostics[0].message


def test_a_cell_with_an_unreadable_source_is_skipped_alone():
    text = notebook(code(IMPORTS), {"cell_type": "code", "source": {"oops": 1}},
                    {"cell_type": "code", "source": [1, 2]}, code(SPLIT + CLASSIFIER), "junk")
    assert found(text) == [(2, 1, 1, "TL002"), (3, 1, 1, "TL002"), (4, 1, 36, "TL301")]


def test_the_run_goes_on_after_a_broken_notebook(tmp_path):
    (tmp_path / "a_broken.ipynb").write_text("{", encoding="utf-8")
    (tmp_path / "b_good.ipynb").write_text(notebook(code(IMPORTS), code(SPLIT + CLASSIFIER)), encoding="utf-8")
    files, _ = discover([str(tmp_path)], Config())
    codes = [(Path(d.path).name, d.code) for f in files for d in lint_file(Path(f), Config())]
    assert codes == [("a_broken.ipynb", "TL002"), ("b_good.ipynb", "TL301")]


@pytest.mark.parametrize("source", ["x = '\udcff'\n", "x = 1\x00\n", "a\u2028b = 1\n", "\\\n", "x=1\r\ny=2\rz=3"])
def test_odd_characters_in_cells_do_not_crash(source):
    text = notebook(code(IMPORTS), {"cell_type": "code", "source": source}, code(SPLIT + CLASSIFIER))
    codes = [(cell, code_) for cell, _, _, code_ in found(text)]
    assert ("TL301" in [c for _, c in codes]) and all(c in ("TL001", "TL301") for _, c in codes), codes


def test_notebook_without_code_cells():
    assert found(notebook(markdown("just notes"))) == []
    assert found(notebook()) == []


# -- suppressions ------------------------------------------------------------------------

def test_noqa_in_a_cell():
    text = notebook(code(IMPORTS), code(SPLIT.rstrip("\n") + "  # noqa: TL301\n" + CLASSIFIER))
    assert found(text) == []


def test_file_level_exemption_in_any_cell():
    text = notebook(code(IMPORTS), code(SPLIT + CLASSIFIER), code("# trainlint: noqa: TL301\n"))
    assert found(text) == []
    # ...but not in a markdown cell
    text = notebook(code(IMPORTS), code(SPLIT + CLASSIFIER), markdown("# trainlint: noqa\n"))
    assert [d[3] for d in found(text)] == ["TL301"]


def test_fixes_come_in_cell_coordinates():
    text = notebook(code(IMPORTS), code(SPLIT + CLASSIFIER))
    (diagnostic,) = lint_source(text, "x.ipynb")
    (edit,) = diagnostic.fix.edits
    assert (diagnostic.cell, edit.start_line) == (2, 1)


def test_no_fix_on_a_line_with_ipython_syntax():
    text = notebook(code(IMPORTS), code("%time " + SPLIT + CLASSIFIER))
    (diagnostic,) = lint_source(text, "x.ipynb")
    assert diagnostic.code == "TL301" and diagnostic.fix is None


# -- discovery and size ------------------------------------------------------------------

def test_discovery_finds_notebooks_but_not_checkpoints(tmp_path):
    (tmp_path / "nb").mkdir()
    (tmp_path / "nb" / "a.ipynb").write_text(notebook(), encoding="utf-8")
    (tmp_path / "nb" / ".ipynb_checkpoints").mkdir()
    (tmp_path / "nb" / ".ipynb_checkpoints" / "a-checkpoint.ipynb").write_text(notebook(), encoding="utf-8")
    config = Config(exclude=())  # the folder is skipped even with the default excludes replaced
    files, _ = discover([str(tmp_path)], config)
    assert [Path(f).relative_to(tmp_path).as_posix() for f in files] == ["nb/a.ipynb"]


def huge_notebook(megabytes: int) -> str:
    image = "iVBORw0KGgo" * 9_000  # ~100 KB of base64, like a plot
    plot = {"output_type": "display_data", "metadata": {},
            "data": {"image/png": image, "text/plain": ["<Figure size 640x480>"]}}
    cells = [code(IMPORTS)]
    for index in range(megabytes * 10):
        cells.append(code(f"plt.plot(history[{index}])\n", outputs=[plot]))
    cells.append(code(SPLIT + CLASSIFIER))
    return notebook(*cells)


def test_huge_outputs_do_not_slow_linting_much(tmp_path):
    text = huge_notebook(30)
    path = tmp_path / "plots.ipynb"
    path.write_text(text, encoding="utf-8")
    assert path.stat().st_size > Config().max_file_size_mb * 1024 * 1024  # a script would be skipped
    start = time.perf_counter()
    diagnostics = lint_file(path, Config())
    elapsed = time.perf_counter() - start
    assert [(d.code, d.cell) for d in diagnostics] == [("TL301", 302)]
    assert elapsed < 20, elapsed  # ~1 s here; generous for shared CI machines


def test_code_larger_than_the_limit_is_skipped():
    text = notebook(code(IMPORTS), code("x = 1\n" * 2000 + SPLIT + CLASSIFIER))
    diagnostics = lint_source(text, "big.ipynb", Config(max_file_size_mb=0.01))
    assert [d.code for d in diagnostics] == ["TL004"]


# -- the join itself ---------------------------------------------------------------------

def test_join_maps_every_module_line_back_to_its_cell():
    nb = read_notebook(notebook(markdown("x"), code("a = 1\nb = 2"), code(""), code("%%time\nc = 3\n")))
    joined = join_cells(nb.code_cells)
    assert joined.text == "a = 1\nb = 2\n\n\nc = 3\n"
    assert [joined.locate(line) for line in range(1, 6)] == [(0, 1), (0, 2), (1, 1), (2, 1), (2, 2)]
    assert [cell.number for cell in joined.cells] == [2, 3, 4]


def test_read_notebook_rejects_non_notebooks():
    with pytest.raises(NotebookError):
        read_notebook('{"cells": 3}')


# -- every script fixture, as a notebook -------------------------------------------------

def script_fixtures():
    # fixtures/projects: a script's findings there depend on its sibling modules, which a
    # notebook of the same name does not import
    return [path for path in fixture_files() if path.suffix == ".py" and "projects" not in path.relative_to(FIXTURES).parts]


@pytest.fixture(scope="module")
def converted_run(tmp_path_factory):
    """Every script fixture converted into a notebook under the same relative path, then
    the real CLI run once over all of them."""
    import subprocess

    from conftest import trainlint_command

    root = tmp_path_factory.mktemp("converted")
    for script in script_fixtures():
        target = root / script.relative_to(FIXTURES).with_suffix(".ipynb")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(script_to_notebook(script.read_text(encoding="utf-8"), script.stem), encoding="utf-8")
    result = subprocess.run([*trainlint_command(), "."], cwd=str(root), capture_output=True, text=True,
                            timeout=600)
    assert result.returncode in (0, 1), result.stderr
    findings = {}
    for line in result.stdout.splitlines():
        match = FINDING.match(line)
        assert match and match.group("cell"), f"unexpected output line: {line!r}"
        key = (int(match.group("cell")), int(match.group("line")), match.group("code"))
        findings.setdefault((root / match.group("path")).resolve(), Counter())[key] += 1
    return root, findings


@pytest.mark.parametrize("script", script_fixtures(), ids=lambda p: str(p.relative_to(FIXTURES)))
def test_script_fixture_as_notebook_gives_the_same_findings(script, converted_run):
    root, findings = converted_run
    converted = root / script.relative_to(FIXTURES).with_suffix(".ipynb")
    expected = Counter()
    for cell, line, text in notebook_code_lines(converted.read_text(encoding="utf-8")):
        match = EXPECT.search(text)
        if match:
            for code_ in re.split(r"\s*,\s*", match.group("codes")):
                expected[(cell, line, code_)] += 1
    script_markers = sum(len(re.split(r"\s*,\s*", m.group("codes")))
                         for m in map(EXPECT.search, script.read_text(encoding="utf-8").splitlines()) if m)
    assert sum(expected.values()) == script_markers  # the conversion kept every marker
    actual = findings.get(converted.resolve(), Counter())
    assert set(actual) == set(expected), (
        f"\nmissed (cell, line, code): {sorted(set(expected) - set(actual))}"
        f"\nunexpected (cell, line, code): {sorted(set(actual) - set(expected))}"
    )


def test_scripts_are_cut_into_several_cells():
    cut = [len(script_chunks(path.read_text(encoding="utf-8"))) for path in script_fixtures()]
    assert all(count >= 2 for count in cut), cut


# -- robustness: odd cells and odd JSON never raise --------------------------------------

from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

CELL_PIECES = st.sampled_from([
    "%time ", "%%time", "%%bash", "!", "?", "??", "/", ",", ";", "x = !ls", "%timeit -n ",
    "(", ")", "[", "'", '"', '"""', "'''", "\\", "#", " ", "    ", "\n", "\r\n", ":", "=",
    "train_test_split(X, y)", "for i in x:", "else:", "pass", "def f(", "\t", "\x0c", "é",
])
cell_sources = st.lists(CELL_PIECES, max_size=30).map("".join)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@pytest.mark.slow  # hypothesis
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cell_sources)
def test_blanking_never_raises_and_keeps_lines(source):
    source = source.replace("\r\n", "\n").replace("\r", "\n")
    assert blank_ipython(source).text.count("\n") == source.count("\n")


@pytest.mark.slow  # hypothesis
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(cell_sources, min_size=1, max_size=5))
def test_odd_cells_never_raise(sources):
    all_sources = [IMPORTS, *sources, CLASSIFIER]
    text = notebook(*[code(source) for source in all_sources])
    for diagnostic in lint_source(text, "odd.ipynb"):
        assert diagnostic.code != "TL003", diagnostic.detail
        cell_lines = re.split(r"\r\n|\r|\n", all_sources[diagnostic.cell - 1])
        assert 1 <= diagnostic.line <= len(cell_lines), diagnostic
        assert 1 <= diagnostic.col <= len(cell_lines[diagnostic.line - 1]) + 1, diagnostic


@pytest.mark.slow  # hypothesis
@settings(max_examples=80, deadline=None)
@given(json_values, st.lists(json_values, max_size=3))
def test_odd_json_never_raises(value, cells):
    for text in (json.dumps(value), json.dumps({"cells": cells, "metadata": value}),
                 json.dumps({"cells": [{"cell_type": "code", "source": value}]})):
        for diagnostic in lint_source(text, "odd.ipynb"):
            assert diagnostic.code in ("TL001", "TL002"), diagnostic


@pytest.mark.slow  # several CLI subprocess runs
def test_fix_changes_only_the_cell_sources_involved(tmp_path, run_trainlint):
    path = tmp_path / "churn.ipynb"
    outputs = [{"output_type": "stream", "name": "stdout", "text": ["accuracy 0.93\n"]},
               {"output_type": "display_data", "data": {"image/png": "iVBORw0KGgo=" * 500}, "metadata": {}}]
    original = json.dumps({
        "cells": [markdown("# Churn — prédiction\n"), code(IMPORTS), code(SPLIT + CLASSIFIER, outputs)],
        "metadata": {"kernelspec": {"name": "python3", "language": "python"}, "language_info": {"name": "python"}},
        "nbformat": 4, "nbformat_minor": 5,
    }, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    path.write_text(original, encoding="utf-8")

    diff = run_trainlint("--diff", "churn.ipynb", cwd=tmp_path)
    assert diff.returncode == 1 and "--- a/churn.ipynb (cell 3)" in diff.stdout
    assert "+X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, stratify=y)" in diff.stdout
    assert path.read_text(encoding="utf-8") == original  # --diff writes nothing

    result = run_trainlint("--fix", "churn.ipynb", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    fixed = path.read_text(encoding="utf-8")
    before, after = json.loads(original), json.loads(fixed)
    assert after["cells"][2]["source"][0].endswith("test_size=0.2, stratify=y)\n")
    after["cells"][2]["source"] = before["cells"][2]["source"]
    assert after == before  # outputs, metadata and the other cells unchanged
    # and the layout too: only the one source line differs, byte for byte
    changed = [(a, b) for a, b in zip(original.splitlines(), fixed.splitlines()) if a != b]
    assert len(changed) == 1 and len(original.splitlines()) == len(fixed.splitlines())
    again = run_trainlint("--fix", "churn.ipynb", cwd=tmp_path)
    assert again.returncode == 0 and path.read_text(encoding="utf-8") == fixed  # idempotent


def test_fix_leaves_a_notebook_with_a_broken_cell_alone(tmp_path, run_trainlint):
    path = tmp_path / "churn.ipynb"
    original = notebook(code(IMPORTS), code(SPLIT + CLASSIFIER), code("def broken(:\n"))
    path.write_text(original, encoding="utf-8")
    result = run_trainlint("--fix", "churn.ipynb", cwd=tmp_path)
    assert result.returncode == 1
    assert path.read_text(encoding="utf-8") == original


def test_fix_leaves_an_unrecognised_json_layout_alone(tmp_path, run_trainlint):
    path = tmp_path / "churn.ipynb"
    original = notebook(code(IMPORTS), code(SPLIT + CLASSIFIER)).replace('\n "nbformat"', '\n    "nbformat"')
    path.write_text(original, encoding="utf-8")
    result = run_trainlint("--fix", "churn.ipynb", cwd=tmp_path)
    assert result.returncode == 1 and "JSON layout" in result.stderr + result.stdout
    assert path.read_text(encoding="utf-8") == original