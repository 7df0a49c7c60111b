"""Bundled offline sample sites (written for newsmon) and the loopback server that serves them."""
