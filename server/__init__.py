"""medcode's server side: document readers, rules, the language server and the `medcode` CLI."""
