"""Analysis tools: reading finished runs and summarising several of them."""
