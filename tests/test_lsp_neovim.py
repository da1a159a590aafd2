"""A real editor as the client: headless Neovim runs `trainlint lsp`, and reports back the
diagnostics it received, applies the "Disable" code action and edits the buffer.

Needs `nvim` (Debian package `neovim`; .ci/run installs it). Works with Neovim 0.7
(Debian 12) and newer: `vim.lsp.start` where it exists, `vim.lsp.start_client` before.
"""

from __future__ import annotations

import json
import re
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("pygls", reason="needs the lsp extra (pygls, lsprotocol)")

NVIM = shutil.which("nvim")
pytestmark = [
    pytest.mark.skipif(
        NVIM is None, reason="nvim not found: install Debian's `neovim` package to run the Neovim LSP test"
    ),
    pytest.mark.slow,  # a real Neovim driving the server
]

SPLIT = 'print("données 😋"); X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2)'
TRAIN = textwrap.dedent(
    """\
    import pandas as pd
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    df = pd.read_csv("churn.csv")
    X, y = df.drop(columns="churned"), df["churned"]
    {split}
    clf = LogisticRegression(max_iter=500).fit(X_train, y_train)
    print(clf.score(X_test, y_test))
    """
).format(split=SPLIT)
SPLIT_LINE = 6

SCRIPT = r"""
local out_path = os.getenv("TRAINLINT_NVIM_OUT")
local result = {}

local function snapshot(bufnr)
  local found = {}
  for _, d in ipairs(vim.diagnostic.get(bufnr)) do
    local lsp = (d.user_data and d.user_data.lsp) or {}
    table.insert(found, {
      code = d.code or lsp.code, source = d.source, lnum = d.lnum, col = d.col,
      end_col = d.end_col, severity = d.severity, message = d.message,
    })
  end
  return found
end

local function wait_for(bufnr, predicate)
  return vim.wait(30000, function() return predicate(#vim.diagnostic.get(bufnr)) end, 20)
end

local function run()
  vim.cmd("edit " .. vim.fn.fnameescape(os.getenv("TRAINLINT_NVIM_FILE")))
  local bufnr = vim.api.nvim_get_current_buf()
  local config = {
    name = "trainlint",
    cmd = vim.fn.json_decode(os.getenv("TRAINLINT_NVIM_CMD")),
    root_dir = os.getenv("TRAINLINT_NVIM_ROOT"),
  }
  if vim.lsp.start then
    vim.lsp.start(config)
  else
    local client_id = vim.lsp.start_client(config)
    vim.lsp.buf_attach_client(bufnr, client_id)
  end
  result.version = vim.fn.execute("version"):match("NVIM v[%w%.%-+]+")

  -- 1. open: the server pushes diagnostics
  result.opened_ok = wait_for(bufnr, function(n) return n > 0 end)
  result.opened = snapshot(bufnr)
  local first = vim.diagnostic.get(bufnr)[1]
  local original = vim.api.nvim_buf_get_lines(bufnr, first.lnum, first.lnum + 1, false)[1]

  -- 2. the "Disable ... for this line" code action, asked for as `vim.lsp.buf.code_action()`
  -- does: the cursor (here at the start of the line) and the line's diagnostics as context
  local position = { line = first.lnum, character = 0 }
  local line_diagnostics
  if vim.lsp.diagnostic.from then  -- Neovim 0.10 and later
    line_diagnostics = vim.lsp.diagnostic.from(vim.diagnostic.get(bufnr, { lnum = first.lnum }))
  else
    line_diagnostics = vim.lsp.diagnostic.get_line_diagnostics(bufnr, first.lnum)
  end
  local params = {
    textDocument = { uri = vim.uri_from_bufnr(bufnr) },
    range = { start = position, ["end"] = position },
    context = { diagnostics = line_diagnostics },
  }
  local responses = vim.lsp.buf_request_sync(bufnr, "textDocument/codeAction", params, 20000) or {}
  result.actions = {}
  for _, response in pairs(responses) do
    for _, action in ipairs(response.result or {}) do
      table.insert(result.actions, action.title)
      if action.title:match("^Disable") then
        vim.lsp.util.apply_workspace_edit(action.edit, "utf-16")
      end
    end
  end
  result.noqa_line = vim.api.nvim_buf_get_lines(bufnr, first.lnum, first.lnum + 1, false)[1]
  result.after_noqa_ok = wait_for(bufnr, function(n) return n == 0 end)
  result.after_noqa = snapshot(bufnr)

  -- 3. an ordinary edit brings the finding back
  vim.api.nvim_buf_set_lines(bufnr, first.lnum, first.lnum + 1, false, { original })
  result.after_edit_ok = wait_for(bufnr, function(n) return n > 0 end)
  result.after_edit = snapshot(bufnr)
end

local ok, err = pcall(run)
if not ok then result.error = tostring(err) end
local handle = io.open(out_path, "w")
handle:write(vim.fn.json_encode(result))
handle:close()
vim.cmd("qa!")
"""


def test_neovim_receives_and_acts_on_diagnostics(tmp_path: Path):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "churn"\n')
    script_file = tmp_path / "train.py"
    script_file.write_text(TRAIN)
    lua = tmp_path / "drive.lua"
    lua.write_text(SCRIPT)
    out = tmp_path / "result.json"
    env = dict(os.environ)
    env.update(
        TRAINLINT_NVIM_OUT=str(out),
        TRAINLINT_NVIM_FILE=str(script_file),
        TRAINLINT_NVIM_ROOT=str(tmp_path),
        TRAINLINT_NVIM_CMD=json.dumps([sys.executable, "-m", "trainlint", "lsp"]),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_DATA_HOME=str(tmp_path / "data"),
        XDG_STATE_HOME=str(tmp_path / "state"),
        XDG_CACHE_HOME=str(tmp_path / "cache"),
    )
    completed = subprocess.run(
        [NVIM, "--headless", "--clean", "-n", "-i", "NONE", "-c", f"luafile {lua}"],
        cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=240,
        stdin=subprocess.DEVNULL,
    )
    assert out.exists(), f"nvim wrote no result (exit {completed.returncode}):\n{completed.stderr}"
    result = json.loads(out.read_text())
    assert "error" not in result, result
    assert result["opened_ok"], result
    (opened,) = result["opened"]
    assert opened["code"] == "TL301" and opened["source"] == "trainlint"
    assert opened["lnum"] == SPLIT_LINE
    # Neovim turns the server's UTF-16 columns into byte columns: right only if the server
    # counted "😋" as two UTF-16 units.
    assert opened["col"] == len(SPLIT[: SPLIT.index("train_test_split")].encode("utf-8"))
    assert "Disable TL301 for this line" in result["actions"], result
    assert result["noqa_line"].endswith("# noqa: TL301")
    assert result["after_noqa_ok"] and result["after_noqa"] == []
    assert result["after_edit_ok"] and [d["code"] for d in result["after_edit"]] == ["TL301"]


# -- the README's snippets, as a user pastes them into init.lua ------------------------------

README_SNIPPET_DRIVER = r"""
local out_path = os.getenv("TRAINLINT_NVIM_OUT")
local result = {}
local ok, err = pcall(function()
  vim.cmd("edit " .. vim.fn.fnameescape(os.getenv("TRAINLINT_NVIM_FILE")))  -- fires FileType
  local bufnr = vim.api.nvim_get_current_buf()
  result.filetype = vim.bo[bufnr].filetype
  result.received = vim.wait(30000, function() return #vim.diagnostic.get(bufnr) > 0 end, 20)
  result.codes = {}
  for _, d in ipairs(vim.diagnostic.get(bufnr)) do table.insert(result.codes, d.code) end
  result.clients = {}
  for _, client in pairs(vim.lsp.buf_get_clients(bufnr)) do
    table.insert(result.clients, { name = client.name, root = client.config.root_dir })
  end
end)
if not ok then result.error = tostring(err) end
local handle = io.open(out_path, "w")
handle:write(vim.fn.json_encode(result))
handle:close()
vim.cmd("qa!")
"""


def readme_lua_snippets() -> dict:
    """The README's Neovim snippets by the version in their first line (`-- Neovim 0.7`)."""
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```lua\n(-- Neovim (0\.\d+)[^\n]*\n.*?)```", readme, re.S)
    return {version: block for block, version in blocks}


def nvim_has_lsp_start() -> bool:
    probe = subprocess.run([NVIM, "--headless", "--clean", "-n", "-i", "NONE", "-c",
                            "lua io.stdout:write(tostring(vim.lsp.start ~= nil))", "-c", "qa!"],
                           capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    return "true" in probe.stdout + probe.stderr


def test_readme_has_both_neovim_forms():
    assert set(readme_lua_snippets()) == {"0.7", "0.8"}


@pytest.mark.parametrize("version", ["0.7", "0.8"])
def test_readme_snippet_starts_trainlint_in_neovim(tmp_path: Path, version: str):
    if version == "0.8" and not nvim_has_lsp_start():
        pytest.skip("the installed Neovim predates vim.lsp.start (0.8)")
    snippet = readme_lua_snippets()[version]
    # the user's `trainlint` is this interpreter's module
    command = "{ " + ", ".join(json.dumps(part) for part in (sys.executable, "-m", "trainlint", "lsp")) + " }"
    assert '{ "trainlint", "lsp" }' in snippet
    project = tmp_path / "project"
    (project / "src").mkdir(parents=True)
    (project / "pyproject.toml").write_text('[project]\nname = "churn"\n')
    script_file = project / "src" / "train.py"
    script_file.write_text(TRAIN)
    init = tmp_path / "init.lua"
    init.write_text(snippet.replace('{ "trainlint", "lsp" }', command))
    lua = tmp_path / "drive.lua"
    lua.write_text(README_SNIPPET_DRIVER)
    out = tmp_path / "result.json"
    env = dict(os.environ, TRAINLINT_NVIM_OUT=str(out), TRAINLINT_NVIM_FILE=str(script_file),
               XDG_CONFIG_HOME=str(tmp_path / "config"), XDG_DATA_HOME=str(tmp_path / "data"),
               XDG_STATE_HOME=str(tmp_path / "state"), XDG_CACHE_HOME=str(tmp_path / "cache"))
    completed = subprocess.run(
        # -u loads the snippet as the user's init.lua; --clean would skip it
        [NVIM, "--headless", "-u", str(init), "-n", "-i", "NONE", "-c", f"luafile {lua}"],
        cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=240, stdin=subprocess.DEVNULL,
    )
    assert out.exists(), f"nvim wrote no result (exit {completed.returncode}):\n{completed.stderr}"
    result = json.loads(out.read_text())
    assert "error" not in result, result
    assert result["filetype"] == "python"
    assert result["received"] and result["codes"] == ["TL301"], result
    assert result["clients"] == [{"name": "trainlint", "root": str(project)}], result
