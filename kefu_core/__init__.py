"""kefu's core: settings, paths, the database base, domain errors, language, texts and the sentence encoder.

Imports nothing else of kefu's. This file stays empty of imports: the Rasa environment imports
`kefu_core.encoding.onnx` and `kefu_core.language`, and must not pull in SQLAlchemy or pydantic.
"""
