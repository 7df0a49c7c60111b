"""`python -m crawler.cli`: how the scheduler runs each crawl as its own process."""

from crawler.cli import main

main()
