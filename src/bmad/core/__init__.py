"""Pure models, errors, redaction and the check framework. Imports nothing else from bmad."""
