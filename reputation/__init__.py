"""The reputation service: a Flask app built by `reputation.app.create_app`."""
