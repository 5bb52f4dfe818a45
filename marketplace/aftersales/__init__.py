"""After-sales claims on delivered fresh produce (issue 24): opened by the buyer, answered by the
seller, arbitrated by town staff, paid back through the refund path and posted under the claim rule."""
