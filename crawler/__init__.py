"""What to crawl, when and how: the site registry, the generic spider, the CLI."""
