"""What a letter says and how it looks: composition, rendering (ReportLab), QR code, wording."""
