"""The API's JSON parser: DRF's, refusing bodies nested too deeply for Python's decoder with a 400.

json.load raises RecursionError (not ValueError, which DRF turns into a 400) on a body such as
``[[[[...`` nested some thousand levels: a request of a few kilobytes would otherwise be a 500."""

from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the body is nested too deeply.") from None
