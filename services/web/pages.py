"""The tree of page blueprints under one parent, `web`: its static files, error pages, headers, CSRF check and
template helpers apply to every page."""

from __future__ import annotations

from flask import Blueprint

from services.web import attachments, auth, letters, office, post, public, reports
from services.web.errors import register_page_errors
from services.web.request_form import APPLICANT, PERSON, dom_id, field_input, path_label
from services.web.session import current_staff, protect_forms

web = Blueprint("web", __name__, static_folder="static", static_url_path="/static", template_folder="templates")
register_page_errors(web)
protect_forms(web)
for helper in (current_staff, dom_id, field_input, path_label):
    web.add_app_template_global(helper)
web.app_context_processor(lambda: {"applicant_inputs": APPLICANT, "person_inputs": PERSON})
for child in (auth.bp, post.bp, office.bp, reports.bp, letters.bp, attachments.bp, public.bp):
    web.register_blueprint(child)
