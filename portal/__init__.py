"""The province portal (issue 7): a web front door to the same intake engine; see portal/app.py."""
