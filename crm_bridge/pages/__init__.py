"""Server-rendered admin pages (knowledge base) on top of the JSON API."""
