"""The language server: one module per feature, a thin server that dispatches to them."""
