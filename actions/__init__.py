"""kefu custom actions, served by `python -m rasa_sdk --actions actions`."""
