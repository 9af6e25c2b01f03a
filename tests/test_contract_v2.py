"""The import side of metrics.md version 2, end to end through the importers and the database:
the issue's measured cases, each as a seller's files would bring it."""

from __future__ import annotations

from datetime import UTC, datetime

from click.testing import CliRunner
from sqlalchemy import select

from monitor.cli import cli
from monitor.models import Defect, Feedback, Order
from monitor.spapi.sync import map_order
from tests.conftest import env_of, write

AS_OF = datetime(2026, 11, 1, tzinfo=UTC)
ALL_ORDERS = (
    "amazon-order-id\tpurchase-date\torder-status\tfulfillment-channel\tsales-channel\tsku\tquantity\t"
    "is-buyer-requested-cancellation\n"
)


def values(monitor, as_of: datetime = AS_OF, account: str = "acme") -> dict[tuple[str, str, str], object]:
    return {(v.marketplace, v.metric, v.channel): v for v in monitor.metrics(account, as_of).values}


def test_a_date_only_ship_by_ends_at_the_end_of_that_day_in_the_marketplaces_zone(monitor, tmp_path):
    """Time: 100 orders with a date-only ship-by, all confirmed in the afternoon of that day (Pacific
    time): v1 showed LSR 100 % critical, Amazon shows 0 %."""
    rows = "".join(
        f"D-{n},amazon.com,2026-10-2{n % 8}T08:00:00Z,MFN,Shipped,2026-10-2{n % 8 + 1},2026-10-2{n % 8 + 1}T22:30:00Z\n"
        for n in range(100)
    )  # 15:30 in Los Angeles
    write(
        tmp_path / "o.csv",
        "order_id,marketplace,purchase_date,fulfillment_channel,order_status,latest_ship_date,shipped_at\n" + rows,
    )
    monitor.import_paths([tmp_path / "o.csv"], account="acme")
    with monitor.sessions() as session:
        order = session.scalars(select(Order).where(Order.order_id == "D-0")).one()
    # 2026-10-21 ends at midnight in Los Angeles: 07:00 UTC the next day
    assert order.latest_ship_date == datetime(2026, 10, 22, 6, 59, 59, 999999, tzinfo=UTC)
    lsr = values(monitor)[("amazon.com", "lsr_10d", "mfn")]
    assert (lsr.numerator, lsr.denominator, lsr.status) == (0, 100, "good")


def test_all_orders_detailed_statuses_multi_channel_orders_and_buyer_cancels(monitor, tmp_path):
    """Amazon's detailed shipped statuses are shipped; Non-Amazon (multi-channel) orders count in no
    metric; is-buyer-requested-cancellation marks a buyer's cancellation (CR never counts it)."""
    rows = [
        f"111-{n}\t2026-10-28T10:00:00+00:00\tShipped - Delivered to Buyer\tMerchant\tAmazon.com\tMUG\t1\tfalse"
        for n in range(37)
    ]
    rows += [f"111-C{n}\t2026-10-28T11:00:00+00:00\tCancelled\tMerchant\tAmazon.com\tMUG\t1\ttrue" for n in range(3)]
    rows += [f"MCF-{n}\t2026-10-28T12:00:00+00:00\tCancelled\tMerchant\tNon-Amazon\tMUG\t1\tfalse" for n in range(5)]
    write(tmp_path / "all-orders.txt", ALL_ORDERS + "\n".join(rows) + "\n")
    run = monitor.import_paths([tmp_path / "all-orders.txt"], account="acme")
    assert [r.status for r in run.results] == ["ok"] and run.results[0].inserted == 45
    with monitor.sessions() as session:
        stored = {o.order_id: o for o in session.scalars(select(Order))}
    assert stored["111-0"].order_status == "Shipped" and stored["111-0"].marketplace == "amazon.com"
    assert stored["111-C0"].buyer_requested_cancel is True
    assert (stored["MCF-0"].sales_channel, stored["MCF-0"].marketplace) == ("Non-Amazon", None)
    cr = values(monitor)[("amazon.com", "cr_7d", "mfn")]
    assert (cr.numerator, cr.denominator) == (0, 40)  # no MCF order, no buyer cancellation
    assert all(v.marketplace == "amazon.com" for v in monitor.metrics("acme", AS_OF).values)


def test_a_feedback_report_is_a_snapshot_of_its_range(monitor, tmp_path):
    """ODR: a rating revised to 3 stars or more stops counting; feedback the report no longer lists
    is marked removed, kept, never deleted."""
    orders = "order_id,purchase_date,fulfillment_channel,order_status\n" + "".join(
        f"F-{n},2026-09-01T10:00:00Z,MFN,Shipped\n" for n in range(50)
    )
    monitor.import_paths([write(tmp_path / "o.csv", orders)], account="acme")
    head = "Date\tRating\tComments\tYour Response\tOrder ID\tRater Email\n"
    first = (
        head + "09/10/26\t1\tBroken\t\tF-1\ta@marketplace.amazon.com\n"
        "09/12/26\t2\tLate\t\tF-2\tb@marketplace.amazon.com\n"
        "09/20/26\t5\tGreat\t\tF-3\tc@marketplace.amazon.com\n"
    )
    monitor.import_paths([write(tmp_path / "fb1.txt", first)], account="acme")
    odr = values(monitor, datetime(2026, 10, 1, tzinfo=UTC))[("unknown", "odr", "mfn")]
    assert odr.numerator == 2
    # later: F-1 revised to 4 stars, F-2 removed (the report of the same range no longer lists it)
    later = (
        head + "09/10/26\t4\tSorted out\t\tF-1\ta@marketplace.amazon.com\n"
        "09/20/26\t5\tGreat\t\tF-3\tc@marketplace.amazon.com\n"
    )
    monitor.import_paths([write(tmp_path / "fb2.txt", later)], account="acme")
    odr = values(monitor, datetime(2026, 10, 1, tzinfo=UTC))[("unknown", "odr", "mfn")]
    assert (odr.numerator, odr.denominator) == (0, 50)
    with monitor.sessions() as session:
        feedback = {f.order_id: (f.rating, f.status) for f in session.scalars(select(Feedback))}
        defects = {d.order_id: (d.rating, d.status) for d in session.scalars(select(Defect))}
    assert feedback == {"F-1": (4, "active"), "F-2": (2, "removed"), "F-3": (5, "active")}
    assert defects == {"F-1": (4, "active"), "F-2": (2, "removed")}


def test_claims_protected_and_chargebacks_fraud_are_read_and_do_not_count(monitor, tmp_path):
    orders = "order_id,purchase_date,fulfillment_channel,order_status\n" + "".join(
        f"P-{n},2026-09-01T10:00:00Z,MFN,Shipped\n" for n in range(10)
    )
    monitor.import_paths([write(tmp_path / "o.csv", orders)], account="acme")
    claims = (
        "order_id,defect_type,received_at,status\nP-1,a_to_z_claim,2026-09-20T00:00:00Z,protected\n"
        "P-2,chargeback,2026-09-20T00:00:00Z,fraud\nP-3,a_to_z_claim,2026-09-20T00:00:00Z,open\n"
    )
    run = monitor.import_paths([write(tmp_path / "claims.csv", claims)], account="acme")
    assert run.results[0].status == "ok"
    assert values(monitor, datetime(2026, 10, 1, tzinfo=UTC))[("unknown", "odr", "mfn")].numerator == 1


def test_the_apis_cancellation_requester_wins_over_who_carried_it_out():
    """formats.md: cancellationRequest.requester = BUYER is a buyer's cancellation, even when the
    seller executed it; multi-channel orders are marked by their channel name."""
    row = map_order(
        {
            "orderId": "1",
            "createdTime": "2026-01-01T00:00:00Z",
            "salesChannel": {"channelName": "NON_AMAZON", "marketplaceId": "ATVPDKIKX0DER"},
            "fulfillment": {"fulfillmentStatus": "CANCELLED", "fulfilledBy": "MERCHANT"},
            "orderItems": [
                {
                    "quantityOrdered": 1,
                    "cancellation": {
                        "cancellationRequest": {"requester": "BUYER"},
                        "cancellationExecution": {"cancelledBy": "MERCHANT"},
                    },
                }
            ],
        }
    )
    assert (row["cancelled_by"], row["buyer_requested_cancel"], row["sales_channel"]) == ("buyer", "true", "Non-Amazon")


def test_metrics_marketplace_filter_and_json_fields(monitor, tmp_path):
    rows = (
        "order_id,marketplace,purchase_date,fulfillment_channel,order_status\n"
        + "A-1,amazon.com,2026-10-28T10:00:00Z,MFN,Shipped\nB-1,A1PA6795UKMFR9,2026-10-28T10:00:00Z,MFN,Shipped\n"
    )
    monitor.import_paths([write(tmp_path / "o.csv", rows)], account="acme")
    env = env_of(monitor.settings)
    import json

    out = CliRunner().invoke(
        cli, ["metrics", "--marketplace", "amazon.de", "--as-of", "2026-10-31", "--format", "json"], env=env
    )
    found = json.loads(out.output)
    assert {v["marketplace"] for v in found} == {"amazon.de"} and len(found) == 7
    assert {
        "lag_days",
        "lag_source",
        "coverage",
        "projected_rate",
        "projected_date",
        "amazon_rate",
        "amazon_status",
    } <= set(found[0])
