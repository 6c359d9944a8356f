"""One module per source layout; each turns official files into an ImportResult."""
