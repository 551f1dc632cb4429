"""The REST chat channel: POST /api/v1/chat."""
