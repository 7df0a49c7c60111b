"""Tunables: process settings from NEWSMON_* variables, the Scrapy settings module, sites.yaml."""
