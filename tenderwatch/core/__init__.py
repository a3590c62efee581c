"""The ground every part stands on: records, the store and its migrations, settings.

Nothing here imports the harvest, the classifier, the alerts or the application.
"""
