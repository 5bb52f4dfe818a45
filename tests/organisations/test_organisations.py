import pytest

from marketplace.errors import Conflict, DomainError, Forbidden
from marketplace.extensions import db
from marketplace.organisations import services
from marketplace.organisations.errors import BadCreditCode
from marketplace.organisations.models import Organisation, OrganisationMember
from marketplace.people import invitations
from marketplace.people.models import Invitation
from tests.organisations.conftest import CANTEEN_CODE


def test_a_code_failing_its_checksum_registers_nothing(inst):
    before = db.session.query(Organisation).count()
    with pytest.raises(BadCreditCode) as refused:
        services.register_organisation(inst.admin.id, "淄川区工会", "12370302MB2840352X", "union", None, "", 2026,
                                       100_00, "20")
    assert "12370302MB2840352X" in refused.value.message
    assert db.session.query(Organisation).count() == before


def test_the_same_code_twice_is_refused(inst):
    with pytest.raises(Conflict):
        services.register_organisation(inst.admin.id, "另一个单位", CANTEEN_CODE.lower(), "union", None, "", 2026,
                                       100_00, "20")


@pytest.mark.parametrize("share", ["0", "101", "abc", "12.345"])
def test_a_share_outside_1_to_100_percent_is_refused(inst, share):
    with pytest.raises(DomainError):
        services.set_quota(inst.admin.id, inst.organisation.id, 2027, 100_00, share)


def test_only_the_admin_registers(inst):
    with pytest.raises(Forbidden):
        services.register_organisation(inst.buyer.id, "单位", "91350100M000100Y43", "union", None, "", 2026, 1, "10")


def test_an_invited_approver_joins_their_organisation_as_a_buyer_account(inst):
    invitation = invitations.invite("approver@canteen.cn", "审批人", "org_approver", inst.admin.id,
                                    scope_id=inst.organisation.id)
    token = "t"
    import hashlib
    db.session.get(Invitation, invitation.id).token_digest = hashlib.sha256(token.encode()).hexdigest()
    db.session.commit()
    user = invitations.accept_invitation(token, "a-long-password")
    assert user.role == "buyer"
    member = db.session.query(OrganisationMember).filter_by(user_id=user.id).one()
    assert (member.organisation_id, member.role) == (inst.organisation.id, "approver")


def test_an_organisation_invitation_needs_its_organisation(inst):
    with pytest.raises(DomainError):
        invitations.invite("x@canteen.cn", "某人", "org_buyer", inst.admin.id, scope_id=None)
