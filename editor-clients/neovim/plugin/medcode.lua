-- Loaded at startup: the user commands, usable before (or without) setup{}.
-- Starting the language server is up to require("medcode").setup{} (or vim.lsp.enable).
if vim.g.loaded_medcode or vim.fn.has("nvim-0.8") ~= 1 then
  return
end
vim.g.loaded_medcode = true

require("medcode.filetype").register()
require("medcode").create_commands()
