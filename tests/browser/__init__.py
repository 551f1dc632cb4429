"""Admin pages in headless Chromium."""
