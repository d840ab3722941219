from django import forms


class ScopeForm(forms.Form):
    """Plan and segment filters of the customer pages (beside the shared filter bar)."""

    plan = forms.CharField(required=False, max_length=100)
    segment = forms.CharField(required=False, max_length=100)
    sort = forms.ChoiceField(
        required=False,
        choices=[
            ("margin", "Margin"),
            ("-margin", "Margin (best first)"),
            ("margin_pct", "Margin %"),
            ("-cost", "Cost"),
            ("-revenue", "Revenue"),
            ("-requests", "Requests"),
        ],
    )


class ImportForm(forms.Form):
    KINDS = [
        ("customers", "Customers (customer_id,name,plan,segment)"),
        ("revenue", "Revenue entries (customer_id,amount_usd,period_start,period_end,description)"),
    ]
    kind = forms.ChoiceField(choices=KINDS)
    file = forms.FileField()
