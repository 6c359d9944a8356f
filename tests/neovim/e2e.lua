-- Driven by tests/test_neovim.py (after tests/neovim/init.lua): does what a user does and
-- records what Neovim saw, as JSON in $MEDCODE_TEST_OUT. The Python test makes the
-- assertions; this script only fails on timeouts (with what it saw last).
--
-- $MEDCODE_TEST_PLAN (JSON) says which scenario to run and where things are in the files.

local plan = vim.json.decode(assert(os.getenv("MEDCODE_TEST_PLAN")))
local out_path = assert(os.getenv("MEDCODE_TEST_OUT"))
local WAIT = plan.wait_ms or 20000
local started = vim.uv and vim.uv.hrtime() or vim.loop.hrtime()

local results = { steps = {} }

local function now_ms()
  return ((vim.uv and vim.uv.hrtime() or vim.loop.hrtime()) - started) / 1e6
end

local function step(name)
  table.insert(results.steps, { name = name, ms = math.floor(now_ms()) })
end

local function write_results()
  results.notifications = _G.medcode_test_notifications
  local ok, messages = pcall(function()
    return vim.api.nvim_exec2("messages", { output = true }).output
  end)
  results.messages = ok and messages or ""
  results.errmsg = vim.v.errmsg
  results.lsp_log = require("vim.lsp.log").get_filename()
  local f = assert(io.open(out_path, "w"))
  f:write(vim.json.encode(results))
  f:close()
end

-- Neovim's notification when a server process exits early.
local function server_quit()
  for _, n in ipairs(_G.medcode_test_notifications or {}) do
    if n.message:find("quit with exit code", 1, true) then
      return n.message
    end
  end
end

local function wait_for(what, predicate, describe)
  local ok = vim.wait(WAIT, function()
    return predicate() or server_quit() ~= nil
  end, 20)
  if server_quit() and not predicate() then
    error(("the server quit while waiting for %s: %s"):format(what, server_quit()), 0)
  end
  if not ok then
    error(("timed out after %d ms waiting for %s; last seen: %s"):format(WAIT, what, describe and describe() or "-"), 0)
  end
end

local function clients(bufnr)
  return vim.lsp.get_clients({ bufnr = bufnr, name = "medcode" })
end

local function diagnostics(bufnr)
  local list = {}
  for _, d in ipairs(vim.diagnostic.get(bufnr)) do
    list[#list + 1] = {
      code = d.code,
      lnum = d.lnum,
      col = d.col,
      end_lnum = d.end_lnum,
      end_col = d.end_col,
      severity = d.severity,
      message = d.message,
      source = d.source,
    }
  end
  table.sort(list, function(a, b)
    if a.lnum ~= b.lnum then
      return a.lnum < b.lnum
    end
    return a.col < b.col
  end)
  return list
end

local function has_diagnostic(bufnr, code, lnum, col)
  for _, d in ipairs(vim.diagnostic.get(bufnr)) do
    if d.code == code and d.lnum == lnum and d.col == col then
      return true
    end
  end
  return false
end

local function show_diagnostics(bufnr)
  return function()
    local parts = {}
    for _, d in ipairs(diagnostics(bufnr)) do
      parts[#parts + 1] = ("%s@%d:%d"):format(d.code, d.lnum, d.col)
    end
    return "[" .. table.concat(parts, ", ") .. "]"
  end
end

-- Neovim pulls diagnostics itself (on open and on change) and cancels any pending
-- textDocument/diagnostic request of the buffer when it does: count its completed pulls so
-- that an explicit request is only made once the automatic one is done.
local pulls_done = {}
vim.api.nvim_create_autocmd("LspRequest", {
  callback = function(args)
    local req = args.data and args.data.request or {}
    if req.method == "textDocument/diagnostic" and req.type == "complete" then
      pulls_done[args.buf] = (pulls_done[args.buf] or 0) + 1
    end
  end,
})

-- One request through Neovim's client, as a plugin would make it; returns result, err.
local function request(bufnr, method, params)
  local responses, err = vim.lsp.buf_request_sync(bufnr, method, params, WAIT)
  if not responses then
    error(("%s: no response (%s)"):format(method, tostring(err)), 0)
  end
  for _, response in pairs(responses) do
    return response.result, response.err or response.error
  end
  error(method .. ": no client answered", 0)
end

local function position_params(bufnr, line, character)
  return { textDocument = { uri = vim.uri_from_bufnr(bufnr) }, position = { line = line, character = character } }
end

local function lookup_window()
  for _, win in ipairs(vim.api.nvim_list_wins()) do
    local buf = vim.api.nvim_win_get_buf(win)
    local ok, title = pcall(vim.api.nvim_buf_get_var, buf, "medcode_lookup")
    if ok then
      return win, buf, title
    end
  end
end

local function run_lookup(command)
  vim.cmd(command)
  wait_for("the lookup window of `" .. command .. "`", function()
    return lookup_window() ~= nil
  end)
  local win, buf, title = lookup_window()
  local record = {
    title = title,
    lines = vim.api.nvim_buf_get_lines(buf, 0, -1, false),
    floating = vim.api.nvim_win_get_config(win).relative ~= "",
  }
  vim.api.nvim_win_close(win, true)
  return record
end

-- -- scenario "lsp": an 837 saved as .txt, then a CSV ------------------------------------------
local function scenario_lsp()
  results.nvim_version = tostring(vim.version())

  vim.cmd.edit(vim.fn.fnameescape(plan.x12_path))
  local buf = vim.api.nvim_get_current_buf()
  results.filetype = vim.bo[buf].filetype
  step("opened x12")

  wait_for("the medcode client to attach", function()
    local c = clients(buf)[1]
    return c ~= nil and c.initialized == true
  end)
  local client = clients(buf)[1]
  results.client = {
    name = client.name,
    offset_encoding = client.offset_encoding,
    server_name = client.server_info and client.server_info.name or nil,
    cmd = client.config.cmd,
    settings = client.config.settings,
    root_dir = client.config.root_dir,
  }
  step("attached")

  local dotted = plan.dotted -- { line, start, end } of E11.9
  wait_for("diagnostics with bad-format on E11.9", function()
    return has_diagnostic(buf, "bad-format", dotted[1], dotted[2])
  end, show_diagnostics(buf))
  results.diagnostics_open = diagnostics(buf)
  step("diagnostics")

  local hover, hover_err = request(buf, "textDocument/hover", position_params(buf, plan.hover[1], plan.hover[2]))
  results.hover = { result = hover, err = hover_err }
  step("hover")

  -- The quick fixes offered for the bad-format diagnostic (as :lua vim.lsp.buf.code_action()
  -- asks for them: the LSP diagnostic in the context).
  local lsp_diagnostics = {}
  for _, d in ipairs(vim.diagnostic.get(buf, { lnum = dotted[1] })) do
    if d.code == "bad-format" and d.col == dotted[2] and d.user_data and d.user_data.lsp then
      lsp_diagnostics[#lsp_diagnostics + 1] = d.user_data.lsp
    end
  end
  local actions, actions_err = request(buf, "textDocument/codeAction", {
    textDocument = { uri = vim.uri_from_bufnr(buf) },
    range = { start = { line = dotted[1], character = dotted[2] }, ["end"] = { line = dotted[1], character = dotted[3] } },
    context = { diagnostics = lsp_diagnostics, triggerKind = 1 },
  })
  local titles = {}
  for _, action in ipairs(actions or {}) do
    titles[#titles + 1] = action.title
  end
  results.code_actions = { titles = titles, err = actions_err, diagnostics_sent = #lsp_diagnostics }
  step("code actions")

  -- Fix the dotted code the way an editor edit does (Neovim sends an incremental change).
  vim.api.nvim_buf_set_text(buf, dotted[1], dotted[2], dotted[1], dotted[3], { "E119" })
  wait_for("bad-format on E11.9 to go after the edit", function()
    return not has_diagnostic(buf, "bad-format", dotted[1], dotted[2])
      and has_diagnostic(buf, "invalid-code", dotted[1], plan.invalid_after_fix)
  end, show_diagnostics(buf))
  results.diagnostics_after_fix = diagnostics(buf)
  step("edit fixed")

  -- Type a new diagnosis into the valid claim: a new segment "HI*ABK:~", then E, 1, 1
  -- before its terminator, one change per keystroke; then ask for completion.
  local line = plan.type_line
  vim.api.nvim_buf_set_lines(buf, line, line, false, { "HI*ABK:~" })
  local col = #"HI*ABK:"
  for ch in ("E11"):gmatch(".") do
    vim.api.nvim_buf_set_text(buf, line, col, line, col, { ch })
    col = col + 1
  end
  vim.api.nvim_win_set_cursor(0, { line + 1, col })
  local completion, completion_err = request(buf, "textDocument/completion", position_params(buf, line, col))
  local items = completion and (completion.items or completion) or {}
  local labels, e119 = {}, nil
  for i, item in ipairs(items) do
    if i <= 100 then
      labels[#labels + 1] = item.label
    end
    if item.label == "E119" then
      e119 = item
    end
  end
  results.completion = {
    err = completion_err,
    count = #items,
    is_incomplete = type(completion) == "table" and completion.isIncomplete or nil,
    labels = labels,
    e119 = e119,
  }
  results.typed_line = vim.api.nvim_buf_get_lines(buf, line, line + 1, false)[1]
  step("completion")

  -- The typed header E11 is flagged where it was typed: diagnostics follow the typing.
  wait_for("not-billable on the typed E11", function()
    return has_diagnostic(buf, "not-billable", line, #"HI*ABK:")
  end, show_diagnostics(buf))
  results.diagnostics_after_typing = diagnostics(buf)
  step("diagnostics after typing")

  -- :MedcodeLookup with no argument: the code under the cursor (the valid claim's E119),
  -- then with an argument.
  if plan.lookup then
    vim.api.nvim_win_set_cursor(0, { plan.hover[1] + 1, plan.hover[2] })
    results.lookup_cursor = run_lookup("MedcodeLookup")
    results.lookup = run_lookup("MedcodeLookup E11.9")
    step("lookup")
  end

  -- A CSV: the same server attaches and answers (no CSV findings yet).
  vim.cmd.edit(vim.fn.fnameescape(plan.csv_path))
  local csv = vim.api.nvim_get_current_buf()
  results.csv = { filetype = vim.bo[csv].filetype }
  wait_for("the medcode client to attach to the CSV", function()
    local c = clients(csv)[1]
    return c ~= nil and c.initialized == true
  end)
  wait_for("Neovim's own diagnostic pull for the CSV", function()
    return (pulls_done[csv] or 0) >= 1
  end)
  results.csv.diagnostics = diagnostics(csv)
  local report, report_err = request(csv, "textDocument/diagnostic", { textDocument = { uri = vim.uri_from_bufnr(csv) } })
  results.csv.report = report
  results.csv.report_err = report_err
  local csv_hover, csv_hover_err = request(csv, "textDocument/hover", position_params(csv, 1, 1))
  results.csv.hover = csv_hover
  results.csv.hover_err = csv_hover_err
  results.csv.same_client = clients(csv)[1].id == client.id
  step("csv")

  -- Still one live server, still serving the claim file.
  results.clients = #vim.lsp.get_clients({ name = "medcode" })
  if vim.fn.has("nvim-0.11") == 1 then
    results.client_stopped = client:is_stopped()
  else
    results.client_stopped = client.is_stopped()
  end
  local again = request(buf, "textDocument/hover", position_params(buf, plan.hover[1], plan.hover[2]))
  results.hover_again = again ~= nil
  step("done")
end

local function hover_text(bufnr, pos)
  local result = request(bufnr, "textDocument/hover", position_params(bufnr, pos[1], pos[2]))
  if type(result) == "table" and type(result.contents) == "table" then
    return result.contents.value or ""
  end
  return ""
end

-- -- scenario "commands": filetype rules, and :MedcodeIndexBuild under a running server -------
local function scenario_commands()
  results.nvim_version = tostring(vim.version())
  results.filetypes = {}
  for _, case in ipairs(plan.filetype_cases) do
    local buf = vim.api.nvim_create_buf(true, false)
    vim.api.nvim_buf_set_name(buf, case.name)
    vim.api.nvim_buf_set_lines(buf, 0, -1, false, case.lines)
    results.filetypes[case.name] = vim.filetype.match({ buf = buf }) or ""
    vim.api.nvim_buf_delete(buf, { force = true })
  end
  step("filetypes")

  -- A claim file open while the index is built: its server must pick up the new data.
  vim.cmd.edit(vim.fn.fnameescape(plan.x12_path))
  local buf = vim.api.nvim_get_current_buf()
  wait_for("the medcode client to attach", function()
    local c = clients(buf)[1]
    return c ~= nil and c.initialized == true
  end)
  results.hover_before = hover_text(buf, plan.hover)
  wait_for("Neovim's own diagnostic pull for the claim file", function()
    return (pulls_done[buf] or 0) >= 1
  end)
  results.diagnostics_before = diagnostics(buf)
  step("hover before")

  local done
  vim.api.nvim_create_autocmd("User", {
    pattern = "MedcodeIndexBuildDone",
    once = true,
    callback = function(args)
      done = args.data
    end,
  })
  vim.cmd("MedcodeIndexBuild " .. table.concat(plan.build_args, " "))
  wait_for(":MedcodeIndexBuild to finish", function()
    return done ~= nil
  end)
  results.build = done
  step("index build")

  -- The plugin asked the server to reload its indexes (workspace/executeCommand); the
  -- next hovers describe the code from the new data.
  local deadline = now_ms() + WAIT
  repeat
    results.hover_after = hover_text(buf, plan.hover)
    if results.hover_after:find(plan.hover_expect, 1, true) then
      break
    end
    vim.wait(100)
  until now_ms() > deadline
  step("hover after")

  -- ... and the diagnostics of the open buffer follow, with no edit: the server asks for a
  -- refresh (workspace/diagnostic/refresh), the plugin pulls again.
  local nb = plan.not_billable
  wait_for("not-billable from the new data, without an edit", function()
    return has_diagnostic(buf, "not-billable", nb[1], nb[2])
  end, show_diagnostics(buf))
  results.diagnostics_after = diagnostics(buf)
  step("diagnostics after")

  -- Neovim 0.8-0.9 have no vim.system: the plugin falls back to jobstart. Same command.
  local system = vim.system
  vim.system = nil
  local ok, lookup = pcall(run_lookup, "MedcodeLookup E11.9")
  vim.system = system
  if not ok then
    error(lookup, 0)
  end
  results.lookup_jobstart = lookup
  step("lookup via jobstart")
end

local scenarios = { lsp = scenario_lsp, commands = scenario_commands }

local ok, err
if vim.v.errmsg ~= "" then -- init.lua (the plugin's setup) failed: no point waiting
  ok, err = false, "error during startup: " .. vim.v.errmsg
else
  ok, err = xpcall(scenarios[plan.scenario], debug.traceback)
end
if not ok then
  results.error = tostring(err)
end
write_results()
vim.cmd(ok and "qall!" or "cquit! 1")
