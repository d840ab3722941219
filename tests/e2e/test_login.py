import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


def test_login_form_signs_fran_in_and_lands_on_the_overview(page, live_server, fran):
    page.goto(live_server.url + "/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/$"))
    page.fill("input[name=username]", "fran@acme.test")
    page.fill("input[name=password]", "fran-pass-123")
    page.click("button[type=submit]")
    expect(page).to_have_url(live_server.url + "/")
    expect(page.locator(".who")).to_contain_text("fran@acme.test")


def test_wrong_password_stays_on_the_login_page(page, live_server, fran):
    page.goto(live_server.url + "/login/")
    page.fill("input[name=username]", "fran@acme.test")
    page.fill("input[name=password]", "nope")
    page.click("button[type=submit]")
    expect(page.locator(".error")).to_contain_text("didn't match")
