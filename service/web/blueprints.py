"""The blueprints the app serves, in one list so the factory stays short."""
ALL = []
