"""The web app behind `newsmon serve`: search, stories, alerts and sites, in Vietnamese."""
