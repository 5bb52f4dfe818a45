"""Every model, imported once so Alembic and the app see the whole schema."""
from marketplace.api.models import ApiToken, IdempotencyRecord  # noqa: F401
from marketplace.audit.models import AuditLog  # noqa: F401
from marketplace.aftersales.models import Claim, ClaimPhoto  # noqa: F401
from marketplace.catalog.models import Category, Product, ProductPhoto, Seller, SupplyLot, Variant  # noqa: F401
from marketplace.catalog import search  # noqa: F401  (keeps products' search terms on every flush)
from marketplace.coops.models import (  # noqa: F401
    Cooperative, CooperativePeriod, DividendPreview, DividendPreviewShare, FloorPriceChange, Membership, ShareChange,
    ShareHolding, SharingRule,
)
from marketplace.downlink.models import DeliveryArea, DeliveryRun, PickupTicket  # noqa: F401
from marketplace.guests.models import PhoneCode  # noqa: F401
from marketplace.funds.models import FixedReturnInvestment, InvestmentHolding, LoveFundGrant  # noqa: F401
from marketplace.ledger.models import (  # noqa: F401
    Account, FoldMark, HouseholdIncome, JournalEntry, LotAllocation, Posting, TownFigures, TownIncome,
)
from marketplace.orders.models import Cart, CartItem, Order, OrderEvent, OrderLine, Shipment, StockReservation  # noqa: F401
from marketplace.organisations.models import (  # noqa: F401
    IncomingTransfer, InvoiceRequest, IssuedInvoice, Organisation, OrganisationDocument, OrganisationMember,
    OrganisationQuota, Requisition, RequisitionLine, ShipmentAcceptance,
)
from marketplace.outbox.models import OutboxMessage  # noqa: F401
from marketplace.payments.models import Payment, Refund, RefundLine, StripeEvent  # noqa: F401
from marketplace.payouts.models import CooperativeDeposit, PayoutBatch, PayoutItem  # noqa: F401
from marketplace.imports.models import ImportJob  # noqa: F401
from marketplace.people.models import Household, HouseholdStatusChange, Invitation, Supplier, User  # noqa: F401
from marketplace.places.models import ServicePoint, Town, Village  # noqa: F401
from marketplace.reconciliation.models import (  # noqa: F401
    Discrepancy, ReconciliationPeriod, StripeBalanceRecord, StripeSyncCursor,
)
from marketplace.statements.models import StatementJob  # noqa: F401
from marketplace.presales.models import PreOrder, PreOrderMessage, PreSale, PreSalePayment  # noqa: F401
from marketplace.subscriptions.models import Subscription, SubscriptionMessage, SubscriptionRenewal  # noqa: F401
