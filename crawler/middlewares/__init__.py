"""The crawl's downloader middlewares (config/scrapy_settings.py orders them): the private
address guard and the cookie-challenge answer."""
