from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.extensions import db


class Town(db.Model):
    """A town (镇) or sub-district (街道) of the district."""

    __tablename__ = "towns"
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    name_zh: Mapped[str] = mapped_column(String(60))
    name_en: Mapped[str] = mapped_column(String(80))
    villages: Mapped[list["Village"]] = relationship(back_populates="town", order_by="Village.id")

    def name(self, locale="zh"):
        return self.name_en if str(locale).startswith("en") else self.name_zh


class Village(db.Model):
    """A village (村); `is_poor_village` marks a provincial-level poor village (省定贫困村)."""

    __tablename__ = "villages"
    id: Mapped[int] = mapped_column(primary_key=True)
    town_id: Mapped[int] = mapped_column(ForeignKey("towns.id"), index=True)
    name_zh: Mapped[str] = mapped_column(String(60))
    name_en: Mapped[str] = mapped_column(String(80))
    is_poor_village: Mapped[bool] = mapped_column(default=False)
    town: Mapped[Town] = relationship(back_populates="villages")
    service_points: Mapped[list["ServicePoint"]] = relationship(back_populates="village")

    __table_args__ = (db.UniqueConstraint("town_id", "name_zh", name="uq_villages_town_name"),)

    def name(self, locale="zh"):
        return self.name_en if str(locale).startswith("en") else self.name_zh


class ServicePoint(db.Model):
    """A village e-commerce service point (村级电商服务站) or produce stall (货台)."""

    __tablename__ = "service_points"
    id: Mapped[int] = mapped_column(primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("villages.id"), index=True)
    name_zh: Mapped[str] = mapped_column(String(80))
    name_en: Mapped[str] = mapped_column(String(120))
    address_zh: Mapped[str] = mapped_column(String(200), default="")
    is_free_stall: Mapped[bool] = mapped_column(default=False)
    village: Mapped[Village] = relationship(back_populates="service_points")

    def name(self, locale="zh"):
        return self.name_en if str(locale).startswith("en") else self.name_zh
