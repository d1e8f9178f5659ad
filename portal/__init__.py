"""The province portal: a web front door to the same intake engine; see portal/app.py."""
