-- medcode for Neovim: starts `medcode serve` for X12 claim files, CSVs and documentation
-- templates, and adds :MedcodeLookup / :MedcodeIndexBuild.
--
--   require("medcode").setup({})   -- every option is optional; see README.md
--
-- Neovim 0.11+: registers the "medcode" config with vim.lsp.config and enables it.
-- Neovim 0.8-0.10: a FileType autocmd calls vim.lsp.start.

local M = {}

local NAME = "medcode"

--- @class medcode.Options
local defaults = {
  -- The medcode command line (for :MedcodeLookup and :MedcodeIndexBuild, and the server's
  -- default `cmd`), e.g. { "/path/to/venv/bin/medcode" } or { "python3", "-m", "medcode.server" }.
  medcode_cmd = { "medcode" },
  -- The language server command; default: medcode_cmd + { "serve" }.
  cmd = nil,
  -- Index folder for the server and the commands (sets MEDCODE_INDEX_DIR); nil: medcode's
  -- default (MEDCODE_INDEX_DIR from the environment, else the user data directory).
  index_dir = nil,
  -- Extra environment for the server and the commands.
  cmd_env = nil,
  -- json, markdown and text buffers are attached, but the server reads only those that look
  -- medical (the `files.include` / `files.exclude` settings widen or narrow that).
  filetypes = { "x12", "csv", "json", "markdown", "text" },
  root_markers = { ".git" },
  -- The `medcode` settings section (answered to workspace/configuration):
  --   inlayHints = { enabled = false }, severity = { ["not-billable"] = "error" }, debounceMs = 200
  settings = {},
  -- How the client is started: "auto" (vim.lsp.enable on 0.11+, else a FileType autocmd and
  -- vim.lsp.start), "enable", "autocmd", or false to start nothing (you start the server
  -- yourself, e.g. with the nvim-lspconfig-style snippet in README.md).
  lsp = "auto",
  -- Called with (client, bufnr) when the server attaches to a buffer.
  on_attach = nil,
  -- Passed through to the client config (e.g. from a completion plugin).
  capabilities = nil,
  -- :MedcodeLookup output: "float" (a floating window at the cursor) or "split".
  lookup_window = "float",
}

M.options = vim.deepcopy(defaults)

local function has(version)
  return vim.fn.has("nvim-" .. version) == 1
end

local function notify(msg, level)
  vim.notify("medcode: " .. msg, level or vim.log.levels.INFO, { title = "medcode" })
end

local function copy_list(list)
  local out = {}
  for i, v in ipairs(list or {}) do
    out[i] = v
  end
  return out
end

local islist = vim.islist or vim.tbl_islist -- vim.tbl_islist is deprecated on 0.10+

-- Merge user options over the defaults. Lists (cmd, filetypes, ...) replace, never merge
-- index by index, whatever vim.tbl_deep_extend does on this Neovim version.
local function merge(base, user)
  local out = vim.deepcopy(base)
  for k, v in pairs(user or {}) do
    if type(v) == "table" and type(out[k]) == "table" and not islist(v) and not islist(out[k]) then
      out[k] = merge(out[k], v)
    else
      out[k] = vim.deepcopy(v)
    end
  end
  return out
end

--- The environment for the server and the CLI jobs, or nil.
function M.env()
  local env = vim.deepcopy(M.options.cmd_env or {})
  if M.options.index_dir then
    env.MEDCODE_INDEX_DIR = vim.fn.expand(M.options.index_dir)
  end
  return next(env) and env or nil
end

--- The server command.
function M.server_cmd()
  if M.options.cmd then
    return copy_list(M.options.cmd)
  end
  local cmd = copy_list(M.options.medcode_cmd)
  cmd[#cmd + 1] = "serve"
  return cmd
end

local function settings_section()
  local s = M.options.settings or {}
  -- Accept both { severity = ... } and { medcode = { severity = ... } }.
  if type(s.medcode) == "table" then
    s = s.medcode
  end
  if next(s) == nil then
    return vim.empty_dict() -- sent as {} rather than []
  end
  return vim.deepcopy(s)
end

local function enable_inlay_hints(client, bufnr)
  local hints = settings_section().inlayHints
  local on = hints == true or (type(hints) == "table" and hints.enabled == true)
  if on and vim.lsp.inlay_hint and vim.lsp.inlay_hint.enable then
    -- 0.10+: enable(true, { bufnr = n })
    pcall(vim.lsp.inlay_hint.enable, true, { bufnr = bufnr })
  end
end

local function client_request(client, method, params, handler, bufnr)
  if has("0.11") then
    return client:request(method, params, handler, bufnr)
  end
  return client.request(method, params, handler, bufnr)
end

--- workspace/diagnostic/refresh, which Neovim (up to 0.12 at least) neither advertises nor
--- handles: the server sends it after reloading its indexes (first-run build, import,
--- :MedcodeIndexBuild, an indexDir setting). Pull every attached buffer's diagnostics again,
--- as Neovim does after an edit; the reply goes to Neovim's own textDocument/diagnostic
--- handler (nil handler), so the buffer's diagnostics are replaced, not duplicated.
function M.on_diagnostic_refresh(_, _, ctx)
  local client = vim.lsp.get_client_by_id(ctx.client_id)
  if client then
    for bufnr in pairs(client.attached_buffers or {}) do
      if vim.api.nvim_buf_is_loaded(bufnr) then
        client_request(client, "textDocument/diagnostic", { textDocument = { uri = vim.uri_from_bufnr(bufnr) } }, nil, bufnr)
      end
    end
  end
  return vim.NIL
end

-- Neovim's default capabilities, the user's over them, and refreshSupport where Neovim pulls
-- diagnostics (0.10+). vim.lsp.start on 0.8-0.10 uses `capabilities` as given, without the
-- defaults, so they are merged here.
local function capabilities()
  local caps = vim.tbl_deep_extend("force", vim.lsp.protocol.make_client_capabilities(), M.options.capabilities or {})
  if caps.textDocument and caps.textDocument.diagnostic then
    caps = vim.tbl_deep_extend("force", caps, { workspace = { diagnostics = { refreshSupport = true } } })
  end
  return caps
end

--- The client configuration (vim.lsp.Config on 0.11+, the vim.lsp.start config on 0.8-0.10;
--- root_dir is computed per buffer on the latter).
function M.lsp_config()
  local user_on_attach = M.options.on_attach
  return {
    name = NAME,
    cmd = M.server_cmd(),
    cmd_env = M.env(),
    filetypes = copy_list(M.options.filetypes),
    root_markers = copy_list(M.options.root_markers),
    settings = { medcode = settings_section() },
    capabilities = capabilities(),
    handlers = { ["workspace/diagnostic/refresh"] = M.on_diagnostic_refresh },
    on_attach = function(client, bufnr)
      enable_inlay_hints(client, bufnr)
      if user_on_attach then
        user_on_attach(client, bufnr)
      end
    end,
  }
end

-- -- starting the client ---------------------------------------------------------------------

local function find_root(bufnr, markers)
  local name = vim.api.nvim_buf_get_name(bufnr)
  if name == "" then
    return vim.fn.getcwd()
  end
  if vim.fs.root then -- 0.10+
    return vim.fs.root(bufnr, markers) or vim.fn.getcwd()
  end
  local found = vim.fs.find(markers, { upward = true, path = vim.fs.dirname(name) })[1]
  return found and vim.fs.dirname(found) or vim.fn.getcwd()
end

--- Start (or reuse) the client for one buffer, the 0.8-0.10 way.
function M.start(bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  if vim.bo[bufnr].buftype ~= "" then
    return
  end
  local config = M.lsp_config()
  config.root_dir = find_root(bufnr, config.root_markers)
  config.root_markers = nil
  config.filetypes = nil
  -- 0.8's vim.lsp.start attaches the current buffer: run it in that buffer.
  return vim.api.nvim_buf_call(bufnr, function()
    return vim.lsp.start(config, { bufnr = bufnr })
  end)
end

local function setup_autocmd()
  local group = vim.api.nvim_create_augroup("medcode.lsp", { clear = true })
  vim.api.nvim_create_autocmd("FileType", {
    group = group,
    pattern = M.options.filetypes,
    callback = function(args)
      M.start(args.buf)
    end,
  })
  -- Buffers already open when setup() runs (lazy-loaded plugin).
  for _, buf in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(buf) and vim.tbl_contains(M.options.filetypes, vim.bo[buf].filetype) then
      M.start(buf)
    end
  end
end

local function check_executable(cmd)
  if type(cmd) == "table" and cmd[1] and vim.fn.executable(cmd[1]) ~= 1 then
    notify(
      ("'%s' is not executable: install medcode (pip install /path/to/the/medcode/repository) "
        .. "or set medcode_cmd (or cmd) in setup()"):format(cmd[1]),
      vim.log.levels.WARN
    )
    return false
  end
  return true
end

-- -- running the CLI ---------------------------------------------------------------------------

--- Run a medcode CLI command asynchronously; on_exit(code, stdout, stderr) runs on the main loop.
--- @param args string[] arguments after the medcode command, e.g. { "lookup", "E11.9" }
function M.run(args, on_exit)
  local argv = copy_list(M.options.medcode_cmd)
  vim.list_extend(argv, args)
  local env = M.env()
  if vim.system then -- 0.10+
    local ok, err = pcall(vim.system, argv, { text = true, env = env }, function(res)
      vim.schedule(function()
        on_exit(res.code, res.stdout or "", res.stderr or "")
      end)
    end)
    if not ok then
      on_exit(-1, "", tostring(err))
    end
    return
  end
  local out, err = {}, {}
  local ok, id = pcall(vim.fn.jobstart, argv, {
    env = env,
    stdout_buffered = true,
    stderr_buffered = true,
    on_stdout = function(_, data)
      out = data or {}
    end,
    on_stderr = function(_, data)
      err = data or {}
    end,
    on_exit = function(_, code)
      on_exit(code, table.concat(out, "\n"), table.concat(err, "\n"))
    end,
  })
  if not ok or id <= 0 then
    on_exit(-1, "", ("cannot run %s"):format(argv[1]))
  end
end

local function lines_of(text)
  local lines = vim.split((text:gsub("%s+$", "")), "\n", { plain = true })
  return lines
end

-- -- :MedcodeLookup ----------------------------------------------------------------------------

--- The code-shaped token under the cursor (letters, digits, dots and hyphens: E11.9,
--- 0002-8215-01), which <cword> would split at "." or at X12 delimiters.
function M.code_under_cursor()
  local line = vim.api.nvim_get_current_line()
  local col = vim.api.nvim_win_get_cursor(0)[2] + 1
  local s, e = col, col
  local function is_code(c)
    return c:match("[%w%.%-]") ~= nil
  end
  if col > #line or not is_code(line:sub(col, col)) then
    return nil
  end
  while s > 1 and is_code(line:sub(s - 1, s - 1)) do
    s = s - 1
  end
  while e < #line and is_code(line:sub(e + 1, e + 1)) do
    e = e + 1
  end
  return line:sub(s, e)
end

local function show(lines, title)
  local buf = vim.api.nvim_create_buf(false, true)
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  vim.bo[buf].modifiable = false
  vim.bo[buf].bufhidden = "wipe"
  vim.bo[buf].filetype = "medcode-lookup"
  vim.api.nvim_buf_set_var(buf, "medcode_lookup", title)
  local win
  if M.options.lookup_window == "split" then
    vim.cmd("botright " .. math.min(#lines, 20) .. "split")
    win = vim.api.nvim_get_current_win()
    vim.api.nvim_win_set_buf(win, buf)
  else
    local width = 10
    for _, l in ipairs(lines) do
      width = math.max(width, vim.fn.strdisplaywidth(l))
    end
    local config = {
      relative = "cursor",
      row = 1,
      col = 0,
      width = math.min(width, math.max(20, vim.o.columns - 4)),
      height = math.min(#lines, math.max(3, vim.o.lines - 6)),
      style = "minimal",
      border = "rounded",
    }
    if has("0.9") then
      config.title = " medcode lookup " .. title .. " "
    end
    win = vim.api.nvim_open_win(buf, true, config)
    vim.api.nvim_create_autocmd({ "WinLeave", "BufLeave" }, {
      buffer = buf,
      once = true,
      callback = function()
        pcall(vim.api.nvim_win_close, win, true)
      end,
    })
  end
  vim.wo[win].wrap = true
  for _, key in ipairs({ "q", "<Esc>" }) do
    vim.keymap.set("n", key, function()
      pcall(vim.api.nvim_win_close, win, true)
    end, { buffer = buf, nowait = true, desc = "close medcode lookup" })
  end
  return buf, win
end

--- :MedcodeLookup [CODE] [--set SET] [--date YYYY-MM-DD]: `medcode lookup` in a window.
--- @param args string[] command arguments; empty: the code under the cursor
function M.lookup(args)
  args = copy_list(args)
  if #args == 0 then
    local code = M.code_under_cursor()
    if not code then
      notify("no code under the cursor; use :MedcodeLookup CODE", vim.log.levels.WARN)
      return
    end
    args = { code }
  end
  local argv = { "lookup" }
  vim.list_extend(argv, args)
  M.run(argv, function(code, stdout, stderr)
    if code < 0 then -- the command could not be started
      notify(("cannot run %s: %s"):format(M.options.medcode_cmd[1] or "medcode", stderr), vim.log.levels.ERROR)
      return
    end
    -- Exit 1: no set knows the code (stdout says so); 2: usage/input error (stderr).
    local text = stdout
    if stderr ~= "" and (code ~= 0 or stdout == "") then
      text = (stdout ~= "" and (stdout .. "\n") or "") .. stderr
    end
    if text:match("^%s*$") then
      notify(("lookup %s failed (exit %d)"):format(table.concat(args, " "), code), vim.log.levels.ERROR)
      return
    end
    show(lines_of(text), table.concat(args, " "))
  end)
end

-- -- :MedcodeIndexBuild ------------------------------------------------------------------------

local building = false

local function get_clients(filter)
  if vim.lsp.get_clients then
    return vim.lsp.get_clients(filter)
  end
  return vim.lsp.get_active_clients(filter)
end

--- Ask running servers to reopen their indexes (after a build or an import).
function M.reload_servers()
  for _, client in ipairs(get_clients({ name = NAME })) do
    local caps = client.server_capabilities or {}
    local cmds = caps.executeCommandProvider and caps.executeCommandProvider.commands or {}
    if vim.tbl_contains(cmds, "medcode.reloadIndexes") then
      client_request(client, "workspace/executeCommand", { command = "medcode.reloadIndexes", arguments = {} }, function() end)
    end
  end
end

--- :MedcodeIndexBuild [--set SET]...: `medcode index build` as a background job.
function M.index_build(args)
  if building then
    notify("an index build is already running", vim.log.levels.WARN)
    return
  end
  building = true
  local argv = { "index", "build" }
  vim.list_extend(argv, copy_list(args))
  notify("building the code indexes (" .. table.concat(argv, " ") .. ")…")
  M.run(argv, function(code, stdout, stderr)
    building = false
    local output = vim.trim(stdout .. "\n" .. stderr)
    local out_lines = lines_of(output)
    local last = out_lines[#out_lines] or ""
    if code == 0 then
      M.reload_servers()
      notify("index build finished. " .. last)
    else
      notify(("index build failed (exit %d): %s"):format(code, output), vim.log.levels.ERROR)
    end
    vim.api.nvim_exec_autocmds("User", {
      pattern = "MedcodeIndexBuildDone",
      modeline = false,
      data = { code = code, output = output },
    })
  end)
end

--- Create the user commands (plugin/medcode.lua does this at startup too).
function M.create_commands()
  vim.api.nvim_create_user_command("MedcodeLookup", function(opts)
    M.lookup(opts.fargs)
  end, { nargs = "*", desc = "medcode: look up a code (default: the code under the cursor)" })
  vim.api.nvim_create_user_command("MedcodeIndexBuild", function(opts)
    M.index_build(opts.fargs)
  end, { nargs = "*", desc = "medcode: build the embedded default code indexes" })
end

-- -- setup -----------------------------------------------------------------------------------

--- @param opts medcode.Options|nil
function M.setup(opts)
  if not has("0.8") then
    notify("needs Neovim 0.8 or later (vim.lsp.start)", vim.log.levels.ERROR)
    return
  end
  M.options = merge(defaults, opts or {})
  local o = M.options

  -- Also done at startup by ftdetect/ and plugin/; repeated here for setups that put the
  -- plugin on the runtimepath late (after plugin/ files were sourced).
  require("medcode.filetype").register()
  M.create_commands()

  local mode = o.lsp
  if mode == false then
    return
  end
  check_executable(M.server_cmd())
  if mode == "auto" then
    mode = (has("0.11") and vim.lsp.config and vim.lsp.enable) and "enable" or "autocmd"
  end
  if mode == "enable" then
    -- Assign rather than call: calling vim.lsp.config() merges with an earlier setup().
    vim.lsp.config[NAME] = M.lsp_config()
    vim.lsp.enable(NAME)
  else
    setup_autocmd()
  end
end

return M
