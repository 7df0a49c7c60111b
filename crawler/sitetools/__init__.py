"""Tools for the people who keep the site list: `newsmon sites check` (can newsmon read each
site now?) and `newsmon sites discover` (a registry entry for a new site)."""
