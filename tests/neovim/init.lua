-- Test init for tests/test_neovim.py: `nvim --headless --clean -u tests/neovim/init.lua`.
--
-- Either the plugin goes on the runtimepath (as a plugin manager would put it there) and
-- setup{} runs with the options the Python test chose (JSON in MEDCODE_TEST_SETUP), or
-- (MEDCODE_TEST_SNIPPET) a config snippet copied from editor-clients/neovim/README.md runs
-- on its own, without the plugin.

-- Everything the server and the client log, for the failure report (the log goes under
-- XDG_STATE_HOME, which the test points at a temporary folder).
require("vim.lsp.log").set_level("debug")

-- Record notifications (LSP window/showMessage ends up here too) instead of printing them.
_G.medcode_test_notifications = {}
vim.notify = function(msg, level)
  table.insert(_G.medcode_test_notifications, { message = tostring(msg), level = level or vim.log.levels.INFO })
end

local snippet = os.getenv("MEDCODE_TEST_SNIPPET")
if snippet then
  dofile(snippet)
else
  vim.opt.runtimepath:prepend((assert(os.getenv("MEDCODE_TEST_PLUGIN"), "MEDCODE_TEST_PLUGIN is not set")))
  local setup = vim.json.decode((assert(os.getenv("MEDCODE_TEST_SETUP"), "MEDCODE_TEST_SETUP is not set")))
  if setup == "no setup" then
    -- Neovim 0.11+ without setup{}: the plugin's lsp/medcode.lua config, enabled by name.
    vim.lsp.enable("medcode")
  else
    require("medcode").setup(setup)
  end
end
