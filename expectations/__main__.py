"""`python -m expectations`: regenerate expectations/suites/*.json from spec/."""
from expectations.suites import write_suites

if __name__ == "__main__":
    for path in write_suites():
        print(path)
