#!/usr/bin/env python3
"""Drives the dashboard in a real headless Chromium (through chromium-driver and selenium),
as a person would: refused without a session, logged in through a one-time link, both nodes
listed, a task's output followed live, the task cancelled from its page without a reload.

Screenshots of every page go to --screenshots. Prints "all checks passed" when everything
held; otherwise exits non-zero saying what did not.
"""
import argparse
import os
import sys
import time

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait


def fail(message: str) -> None:
    print("FAILED: " + message, flush=True)
    sys.exit(1)


def browser() -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    for binary in ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"):
        if os.path.exists(binary):
            options.binary_location = binary
            break
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1400,1000", "--no-first-run", "--disable-extensions"):
        options.add_argument(argument)
    driver_path = next((p for p in ("/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver") if os.path.exists(p)), None)
    if driver_path is None:
        fail("no chromedriver (apt-get install chromium-driver)")
    return webdriver.Chrome(service=Service(driver_path), options=options)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", required=True)
    parser.add_argument("--login", required=True, help="a one-time login link from orchion dashboard")
    parser.add_argument("--task", required=True, help="a running task printing 'tick N MILLIS' each second")
    parser.add_argument("--nodes", required=True, help="comma-separated node IDs that must be listed")
    parser.add_argument("--screenshots", required=True)
    args = parser.parse_args()
    os.makedirs(args.screenshots, exist_ok=True)

    def shot(driver, name):
        driver.save_screenshot(os.path.join(args.screenshots, name + ".png"))

    driver = browser()
    try:
        wait = WebDriverWait(driver, 20, ignored_exceptions=[StaleElementReferenceException])

        # Without a session: refused, and told how to get in.
        driver.get(args.base + "/tasks")
        shot(driver, "01-no-session")
        if "Log in first" not in driver.page_source or "401" not in driver.title:
            fail("a page without a session was not refused: " + driver.title)

        # The one-time link logs in and lands on the overview.
        driver.get(args.login)
        wait.until(lambda d: d.find_elements(By.ID, "nodes-active"))
        shot(driver, "02-overview")
        active = driver.find_element(By.CSS_SELECTOR, "#nodes-active .value").text
        if active != str(len(args.nodes.split(","))):
            fail("overview counts %s active nodes" % active)

        # Both nodes are listed.
        driver.get(args.base + "/nodes")
        wait.until(lambda d: d.find_elements(By.ID, "nodes"))
        shot(driver, "03-nodes")
        for node in args.nodes.split(","):
            if not driver.find_elements(By.CSS_SELECTOR, 'tr[data-node="%s"]' % node):
                fail("node %s is not listed" % node)

        driver.get(args.base + "/tasks")
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, 'tr[data-task="%s"]' % args.task))
        shot(driver, "04-tasks")

        # The task's page follows its output: new lines appear without a reload.
        driver.get(args.base + "/tasks/" + args.task)
        wait.until(lambda d: "tick" in d.find_element(By.ID, "output").text)
        driver.execute_script("window.__orchionNoReload = true;")
        def last_tick(d):
            lines = [l for l in d.find_element(By.ID, "output").text.splitlines() if l.startswith("tick ")]
            return lines[-1] if lines else None
        latencies = []
        for _ in range(3):
            before = last_tick(driver)
            WebDriverWait(driver, 5, poll_frequency=0.05).until(lambda d: last_tick(d) != before)
            seen_at = driver.execute_script("return Date.now();")
            printed_at = int(last_tick(driver).split()[2])
            latencies.append(seen_at - printed_at)
        print("live output latency (ms, printed by the task to shown in the page): %s" % latencies, flush=True)
        if max(latencies) > 2000:
            fail("new output took %d ms to appear" % max(latencies))
        shot(driver, "05-task-live")

        # Cancel from the page: the state changes in place, the page is not reloaded.
        driver.find_element(By.CSS_SELECTOR, "#cancel button").click()
        # The page swaps its summary in place every 2 s: an element read may go stale.
        WebDriverWait(driver, 20, poll_frequency=0.1,
                      ignored_exceptions=[StaleElementReferenceException]).until(
            lambda d: d.find_element(By.ID, "state").text.strip() == "CANCELLED")
        if not driver.execute_script("return window.__orchionNoReload === true;"):
            fail("the page was reloaded to show the new state")
        if driver.find_elements(By.ID, "cancel"):
            fail("the cancel button is still there after the task was cancelled")
        shot(driver, "06-task-cancelled")

        driver.get(args.base + "/")
        wait.until(lambda d: d.find_elements(By.ID, "tasks-cancelled"))
        shot(driver, "07-overview-after")
    finally:
        driver.quit()
    print("all checks passed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
