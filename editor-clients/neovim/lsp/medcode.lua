-- Neovim 0.11+ config for `vim.lsp.enable("medcode")`, found on the runtimepath.
-- It reflects require("medcode").setup{} options (or the defaults when setup was not
-- called), so `vim.lsp.enable("medcode")` alone works with `medcode` on PATH.
return require("medcode").lsp_config()
