"""Rankings and the annual report: the COP performance index, its marts, and the publishable report."""
