"""The OVN Northbound model of Kumulus networking: desired rows (desired), commands (plan), as data."""

from .desired import desired_rows
from .model import AddRow, Command, DeleteRow, Ref, Row, Rows, UpdateRow
from .plan import plan

__all__ = ["AddRow", "Command", "DeleteRow", "Ref", "Row", "Rows", "UpdateRow", "desired_rows", "plan"]
