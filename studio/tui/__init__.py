"""The studio: a Textual front end. Everything here is display and keys; the work is done below."""
